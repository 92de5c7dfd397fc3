using PvIommu.Abi.Catalog;
using PvIommu.Abi.Structs;

namespace PvIommu.Abi.Tests.Structs;

/// <summary>One struct type behind a non-generic face, so one theory covers all of them.</summary>
internal abstract class StructCase
{
    public abstract string Name { get; }

    public abstract int Size { get; }

    public AbiStruct Layout => AbiCatalog.Struct(Name);

    /// <summary>Writes the sample into <paramref name="destination"/>.</summary>
    public abstract void WriteSample(Span<byte> destination);

    /// <summary>Reads <paramref name="source"/> and says whether it decodes to the sample.</summary>
    public abstract bool ReadsAsSample(ReadOnlySpan<byte> source);

    public abstract void Read(ReadOnlySpan<byte> source);

    /// <summary>Every case, by C name.</summary>
    public static IReadOnlyDictionary<string, StructCase> All { get; } = new StructCase[]
    {
        new Of<PciDevice>("pv_iommu_pci_device", PciDevice.Size, PciDeviceTests.Sample),
        new Of<Capabilities>("pv_iommu_capabilities", Capabilities.Size, CapabilitiesTests.Sample),
        new Of<Init>("pv_iommu_init", Init.Size, InitTests.Sample),
        new Of<Alloc>("pv_iommu_alloc", Alloc.Size, AllocTests.Sample),
        new Of<Free>("pv_iommu_free", Free.Size, FreeTests.Sample),
        new Of<ReattachDevice>("pv_iommu_reattach_device", ReattachDevice.Size, ReattachDeviceTests.Sample),
        new Of<MapPages>("pv_iommu_map_pages", MapPages.Size, MapPagesTests.Sample),
        new Of<UnmapPages>("pv_iommu_unmap_pages", UnmapPages.Size, UnmapPagesTests.Sample),
        new Of<RemoteCmd>("pv_iommu_remote_cmd", RemoteCmd.Size, RemoteCmdTests.Sample),
        new Of<AllocNested>("pv_iommu_alloc_nested", AllocNested.Size, AllocNestedTests.Sample),
        new Of<AttachPasid>("pv_iommu_attach_pasid", AttachPasid.Size, AttachPasidTests.Sample),
        new Of<DetachPasid>("pv_iommu_detach_pasid", DetachPasid.Size, DetachPasidTests.Sample),
        new Of<FlushPages>("pv_iommu_flush_pages", FlushPages.Size, FlushPagesTests.Sample),
        new Of<LookupPage>("pv_iommu_lookup_page", LookupPage.Size, LookupPageTests.Sample),
    }.ToDictionary(c => c.Name);

    private sealed class Of<T>(string name, int size, T sample) : StructCase
        where T : struct, IAbiStruct<T>
    {
        public override string Name => name;

        public override int Size => size;

        public override void WriteSample(Span<byte> destination) => sample.Write(destination);

        public override bool ReadsAsSample(ReadOnlySpan<byte> source) => T.Read(source).Equals(sample);

        public override void Read(ReadOnlySpan<byte> source) => T.Read(source);
    }
}
