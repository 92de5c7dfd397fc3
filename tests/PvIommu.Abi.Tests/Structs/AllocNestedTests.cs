using PvIommu.Abi.Structs;

namespace PvIommu.Abi.Tests.Structs;

/// <summary>pv_iommu_alloc_nested, spec §2: size 24; ctx_no u16 @0, pad @2, pgtable_gfn u64 @8, nested_flags @16 (declared, not implemented).</summary>
public class AllocNestedTests
{
    internal static readonly AllocNested Sample = new()
    {
        CtxNo = 0x0005,
        PgtableGfn = 0x0000000000ABCDEF,
        NestedFlags = 0x8000000000000001,
    };

    // Hand-computed little-endian encoding of Sample, fields separated by '|'.
    internal const string Vector =
        "05 00 | 00 00 00 00 00 00 | EF CD AB 00 00 00 00 00 | 01 00 00 00 00 00 00 80";

    [Fact]
    public void Write_Sample_GivesHandComputedBytes() =>
        Assert.Equal(Hex.Bytes(Vector), Hex.Encode(Sample, AllocNested.Size));

    [Fact]
    public void Read_HandComputedBytes_GivesSample() =>
        Assert.Equal(Sample, AllocNested.Read(Hex.Bytes(Vector)));
}
