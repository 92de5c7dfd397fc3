using PvIommu.Abi.Structs;

namespace PvIommu.Abi.Tests.Structs;

/// <summary>pv_iommu_unmap_pages, spec §2: size 32; ctx_no u16 @0, pad @2, dfn u64 @8, pgsize @16, nr_pages @20, unmapped @24, pad @28.</summary>
public class UnmapPagesTests
{
    internal static readonly UnmapPages Sample = new()
    {
        CtxNo = 0x0102,
        Dfn = 0x1122334455667788,
        Pgsize = PageSizes.Size2M,
        NrPages = 0x0A0B0C0D,
        Unmapped = 0x01020304,
    };

    // Hand-computed little-endian encoding of Sample, fields separated by '|'.
    internal const string Vector =
        "02 01 | 00 00 00 00 00 00 | 88 77 66 55 44 33 22 11 | 00 00 20 00 | 0D 0C 0B 0A | 04 03 02 01 | 00 00 00 00";

    [Fact]
    public void Write_Sample_GivesHandComputedBytes() =>
        Assert.Equal(Hex.Bytes(Vector), Hex.Encode(Sample, UnmapPages.Size));

    [Fact]
    public void Read_HandComputedBytes_GivesSample() =>
        Assert.Equal(Sample, UnmapPages.Read(Hex.Bytes(Vector)));
}
