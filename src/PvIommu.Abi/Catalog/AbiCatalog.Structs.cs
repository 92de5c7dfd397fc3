using PvIommu.Abi.Structs;
using static PvIommu.Abi.Catalog.FieldDirection;

namespace PvIommu.Abi.Catalog;

/// <content>The struct layouts, read off the offset constants of <c>PvIommu.Abi.Structs</c>.</content>
public static partial class AbiCatalog
{
    private static AbiStruct[] BuildStructs()
    {
        var dev = new StructBuilder("pv_iommu_pci_device", nameof(PciDevice), PciDevice.Size)
            .Field("seg", PciDevice.SegOffset, AbiType.U16, In)
            .Field("bus", PciDevice.BusOffset, AbiType.U8, In)
            .Field("devfn", PciDevice.DevFnOffset, AbiType.U8, In)
            .Build();

        return
        [
            dev,
            new StructBuilder("pv_iommu_capabilities", nameof(Capabilities), Capabilities.Size)
                .Field("max_iova_addr", Capabilities.MaxIovaAddrOffset, AbiType.U64, Out)
                .Field("cap_flags", Capabilities.CapFlagsOffset, AbiType.U32, Out)
                .Field("pgsize_mask", Capabilities.PgsizeMaskOffset, AbiType.U32, Out)
                .Field("max_pasid", Capabilities.MaxPasidOffset, AbiType.U32, Out)
                .Field("max_ctx_no", Capabilities.MaxCtxNoOffset, AbiType.U16, Out)
                .Pad("pad0", Capabilities.Pad0Offset, Capabilities.Pad0Size)
                .Build(),
            new StructBuilder("pv_iommu_init", nameof(Init), Init.Size)
                .Field("max_ctx_no", Init.MaxCtxNoOffset, AbiType.U32, In)
                .Field("arena_order", Init.ArenaOrderOffset, AbiType.U32, In)
                .Build(),
            new StructBuilder("pv_iommu_alloc", nameof(Alloc), Alloc.Size)
                .Field("ctx_no", Alloc.CtxNoOffset, AbiType.U16, Out)
                .Pad("pad0", Alloc.Pad0Offset, Alloc.Pad0Size)
                .Field("alloc_flags", Alloc.AllocFlagsOffset, AbiType.U32, In)
                .Build(),
            new StructBuilder("pv_iommu_free", nameof(Free), Free.Size)
                .Field("ctx_no", Free.CtxNoOffset, AbiType.U16, In)
                .Pad("pad0", Free.Pad0Offset, Free.Pad0Size)
                .Field("free_flags", Free.FreeFlagsOffset, AbiType.U32, In)
                .Build(),
            new StructBuilder("pv_iommu_reattach_device", nameof(ReattachDevice), ReattachDevice.Size)
                .Field("ctx_no", ReattachDevice.CtxNoOffset, AbiType.U16, In)
                .Nested("dev", ReattachDevice.DevOffset, dev, In)
                .Pad("pad0", ReattachDevice.Pad0Offset, ReattachDevice.Pad0Size)
                .Field("pasid", ReattachDevice.PasidOffset, AbiType.U32, In)
                .Build(),
            new StructBuilder("pv_iommu_map_pages", nameof(MapPages), MapPages.Size)
                .Field("ctx_no", MapPages.CtxNoOffset, AbiType.U16, In)
                .Pad("pad0", MapPages.Pad0Offset, MapPages.Pad0Size)
                .Field("gfn", MapPages.GfnOffset, AbiType.U64, InOut)
                .Field("dfn", MapPages.DfnOffset, AbiType.U64, InOut)
                .Field("map_flags", MapPages.MapFlagsOffset, AbiType.U32, In)
                .Field("pgsize", MapPages.PgsizeOffset, AbiType.U32, In)
                .Field("nr_pages", MapPages.NrPagesOffset, AbiType.U32, InOut)
                .Field("mapped", MapPages.MappedOffset, AbiType.U32, InOut)
                .Build(),
            new StructBuilder("pv_iommu_unmap_pages", nameof(UnmapPages), UnmapPages.Size)
                .Field("ctx_no", UnmapPages.CtxNoOffset, AbiType.U16, In)
                .Pad("pad0", UnmapPages.Pad0Offset, UnmapPages.Pad0Size)
                .Field("dfn", UnmapPages.DfnOffset, AbiType.U64, InOut)
                .Field("pgsize", UnmapPages.PgsizeOffset, AbiType.U32, In)
                .Field("nr_pages", UnmapPages.NrPagesOffset, AbiType.U32, InOut)
                .Field("unmapped", UnmapPages.UnmappedOffset, AbiType.U32, InOut)
                .Pad("pad1", UnmapPages.Pad1Offset, UnmapPages.Pad1Size)
                .Build(),
            new StructBuilder("pv_iommu_remote_cmd", nameof(RemoteCmd), RemoteCmd.Size)
                .Field("domid", RemoteCmd.DomidOffset, AbiType.U16, In)
                .Field("subop", RemoteCmd.SubopOffset, AbiType.U16, In)
                .Pad("pad0", RemoteCmd.Pad0Offset, RemoteCmd.Pad0Size)
                .Field("arg", RemoteCmd.ArgOffset, AbiType.GuestHandle, In)
                .Build(),
            new StructBuilder("pv_iommu_alloc_nested", nameof(AllocNested), AllocNested.Size)
                .Field("ctx_no", AllocNested.CtxNoOffset, AbiType.U16, Out)
                .Pad("pad0", AllocNested.Pad0Offset, AllocNested.Pad0Size)
                .Field("pgtable_gfn", AllocNested.PgtableGfnOffset, AbiType.U64, In)
                .Field("nested_flags", AllocNested.NestedFlagsOffset, AbiType.U64, In)
                .Build(),
            new StructBuilder("pv_iommu_attach_pasid", nameof(AttachPasid), AttachPasid.Size)
                .Field("ctx_no", AttachPasid.CtxNoOffset, AbiType.U16, In)
                .Nested("dev", AttachPasid.DevOffset, dev, In)
                .Pad("pad0", AttachPasid.Pad0Offset, AttachPasid.Pad0Size)
                .Field("pasid", AttachPasid.PasidOffset, AbiType.U32, In)
                .Build(),
            new StructBuilder("pv_iommu_detach_pasid", nameof(DetachPasid), DetachPasid.Size)
                .Nested("dev", DetachPasid.DevOffset, dev, In)
                .Field("pasid", DetachPasid.PasidOffset, AbiType.U32, In)
                .Build(),
            new StructBuilder("pv_iommu_flush_pages", nameof(FlushPages), FlushPages.Size)
                .Field("ctx_no", FlushPages.CtxNoOffset, AbiType.U16, In)
                .Pad("pad0", FlushPages.Pad0Offset, FlushPages.Pad0Size)
                .Field("dfn", FlushPages.DfnOffset, AbiType.U64, InOut)
                .Field("pgsize", FlushPages.PgsizeOffset, AbiType.U32, In)
                .Field("nr_pages", FlushPages.NrPagesOffset, AbiType.U32, InOut)
                .Build(),
            new StructBuilder("pv_iommu_lookup_page", nameof(LookupPage), LookupPage.Size)
                .Field("ctx_no", LookupPage.CtxNoOffset, AbiType.U16, In)
                .Pad("pad0", LookupPage.Pad0Offset, LookupPage.Pad0Size)
                .Field("dfn", LookupPage.DfnOffset, AbiType.U64, In)
                .Field("gfn", LookupPage.GfnOffset, AbiType.U64, Out)
                .Field("map_flags", LookupPage.MapFlagsOffset, AbiType.U32, Out)
                .Field("pgsize", LookupPage.PgsizeOffset, AbiType.U32, Out)
                .Build(),
        ];
    }

    // The C# type each sub-op decodes its argument into; null where the sub-op takes none.
    private static string? ArgumentTypeName(SubOp subOp) => subOp switch
    {
        SubOp.QueryCapabilities => nameof(Capabilities),
        SubOp.Init => nameof(Init),
        SubOp.AllocContext => nameof(Alloc),
        SubOp.FreeContext => nameof(Free),
        SubOp.ReattachDevice => nameof(ReattachDevice),
        SubOp.MapPages => nameof(MapPages),
        SubOp.UnmapPages => nameof(UnmapPages),
        SubOp.RemoteCmd => nameof(RemoteCmd),
        SubOp.AllocNested => nameof(AllocNested),
        SubOp.AttachPasid => nameof(AttachPasid),
        SubOp.DetachPasid => nameof(DetachPasid),
        SubOp.FlushPages => nameof(FlushPages),
        SubOp.LookupPage => nameof(LookupPage),
        _ => null,
    };
}
