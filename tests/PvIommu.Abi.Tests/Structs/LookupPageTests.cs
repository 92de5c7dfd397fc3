using PvIommu.Abi.Structs;

namespace PvIommu.Abi.Tests.Structs;

/// <summary>pv_iommu_lookup_page, spec §2: size 32; ctx_no u16 @0, pad @2, dfn u64 @8 (IN), gfn u64 @16, map_flags @24, pgsize @28 (OUT).</summary>
public class LookupPageTests
{
    internal static readonly LookupPage Sample = new()
    {
        CtxNo = 0x0001,
        Dfn = 0x0102030405060708,
        Gfn = 0x1112131415161718,
        MapFlags = MapFlags.Readable | MapFlags.Writeable | MapFlags.Cache,
        Pgsize = PageSizes.Size1G,
    };

    // Hand-computed little-endian encoding of Sample, fields separated by '|'.
    internal const string Vector =
        "01 00 | 00 00 00 00 00 00 | 08 07 06 05 04 03 02 01 | 18 17 16 15 14 13 12 11 | 07 00 00 00 | 00 00 00 40";

    [Fact]
    public void Write_Sample_GivesHandComputedBytes() =>
        Assert.Equal(Hex.Bytes(Vector), Hex.Encode(Sample, LookupPage.Size));

    [Fact]
    public void Read_HandComputedBytes_GivesSample() =>
        Assert.Equal(Sample, LookupPage.Read(Hex.Bytes(Vector)));
}
