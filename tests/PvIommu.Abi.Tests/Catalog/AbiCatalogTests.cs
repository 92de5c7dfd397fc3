using PvIommu.Abi.Catalog;

namespace PvIommu.Abi.Tests.Catalog;

/// <summary>The catalogue is complete and consistent with the types it is read from.</summary>
public class AbiCatalogTests
{
    [Fact]
    public void Structs_EveryStruct_FieldsTileItWithoutGaps()
    {
        foreach (var s in AbiCatalog.Structs)
        {
            var end = 0;
            foreach (var f in s.Fields)
            {
                Assert.Equal(end, f.Offset);
                Assert.Equal(0, f.Offset % f.Align);
                end = f.Offset + f.Size;
            }

            Assert.Equal(s.Size, end);
        }
    }

    [Fact]
    public void Structs_Names_AreUniqueAndPrefixed()
    {
        Assert.Equal(AbiCatalog.Structs.Count, AbiCatalog.Structs.Select(s => s.Name).Distinct().Count());
        Assert.All(AbiCatalog.Structs, s => Assert.StartsWith("pv_iommu_", s.Name, StringComparison.Ordinal));
    }

    [Fact]
    public void SubOps_EveryEnumValue_ListedWithArgumentSize()
    {
        Assert.Equal(Enum.GetValues<SubOp>(), AbiCatalog.SubOps.Select(op => op.Number));
        Assert.All(AbiCatalog.SubOps, op => Assert.Equal(op.Argument?.Size ?? 0, op.ArgumentSize));
    }

    [Fact]
    public void MapPages_Layout_IsFortyBytesWithMappedAt36()
    {
        // spec §2: map_pages | 40 | ... mapped u32 @36.
        var map = AbiCatalog.Struct("pv_iommu_map_pages");
        Assert.Equal(40, map.Size);
        Assert.Equal(8, map.Align);
        Assert.Equal(36, map.Field("mapped").Offset);
        Assert.Equal(FieldDirection.InOut, map.Field("mapped").Direction);
    }

    [Fact]
    public void ReattachDevice_Dev_IsEmbeddedPciDeviceAt2()
    {
        var dev = AbiCatalog.Struct("pv_iommu_reattach_device").Field("dev");
        Assert.Equal(AbiType.Struct, dev.Type);
        Assert.Equal("pv_iommu_pci_device", dev.Nested!.Name);
        Assert.Equal(2, dev.Offset);
    }

    [Fact]
    public void Capabilities_Padding_IsOnlyPad0()
    {
        var caps = AbiCatalog.Struct("pv_iommu_capabilities");
        Assert.Equal(["pad0"], caps.Fields.Where(f => f.IsPadding).Select(f => f.Name));
    }

    [Fact]
    public void Flags_Bits_MatchEnums()
    {
        Assert.Equal(["default_identity", "cache", "nested", "pasid", "identity", "deferred_flush", "lookup"], AbiCatalog.CapFlags.Select(b => b.Name));
        Assert.Equal(Enumerable.Range(0, 7), AbiCatalog.CapFlags.Select(b => b.Bit));
        Assert.Equal(["readable", "writeable", "cache", "no_flush"], AbiCatalog.MapFlags.Select(b => b.Name));
        Assert.Equal((uint)KnownFlags.Map, AbiCatalog.MapFlags.Aggregate(0u, (a, b) => a | b.Mask));
        Assert.Equal("IOMMU_FREE_reattach_default", Assert.Single(AbiCatalog.FreeFlags).CName);
        Assert.Equal("IOMMU_ALLOC_identity", Assert.Single(AbiCatalog.AllocFlags).CName);
    }

    [Fact]
    public void Errnos_EveryXenErrno_Listed() =>
        Assert.Equal(Enum.GetValues<XenErrno>().Select(e => (long)e), AbiCatalog.Errnos.Select(e => e.Value));

    [Theory]
    [InlineData("QueryCapabilities", "query_capabilities")]
    [InlineData("NoFlush", "no_flush")]
    [InlineData("Noop", "noop")]
    public void SnakeCase_PascalName_IsUpstreamSpelling(string pascal, string snake) =>
        Assert.Equal(snake, AbiCatalog.SnakeCase(pascal));
}
