using PvIommu.Abi.Structs;

namespace PvIommu.Abi.Tests.Structs;

/// <summary>pv_iommu_flush_pages, spec §2: size 24; ctx_no u16 @0, pad @2, dfn u64 @8, pgsize @16, nr_pages @20.</summary>
public class FlushPagesTests
{
    internal static readonly FlushPages Sample = new()
    {
        CtxNo = 0x0003,
        Dfn = 0x0000000100000000,
        Pgsize = PageSizes.Size4K,
        NrPages = 0x00000200,
    };

    // Hand-computed little-endian encoding of Sample, fields separated by '|'.
    internal const string Vector =
        "03 00 | 00 00 00 00 00 00 | 00 00 00 00 01 00 00 00 | 00 10 00 00 | 00 02 00 00";

    [Fact]
    public void Write_Sample_GivesHandComputedBytes() =>
        Assert.Equal(Hex.Bytes(Vector), Hex.Encode(Sample, FlushPages.Size));

    [Fact]
    public void Read_HandComputedBytes_GivesSample() =>
        Assert.Equal(Sample, FlushPages.Read(Hex.Bytes(Vector)));
}
