using PvIommu.Abi.Structs;

namespace PvIommu.Abi.Tests.Structs;

/// <summary>pv_iommu_free, spec §2: size 8; ctx_no u16 @0, pad @2, free_flags u32 @4.</summary>
public class FreeTests
{
    internal static readonly Free Sample = new()
    {
        CtxNo = 0xFFFE,
        FreeFlags = FreeFlags.ReattachDefault,
    };

    // Hand-computed little-endian encoding of Sample, fields separated by '|'.
    internal const string Vector =
        "FE FF | 00 00 | 01 00 00 00";

    [Fact]
    public void Write_Sample_GivesHandComputedBytes() =>
        Assert.Equal(Hex.Bytes(Vector), Hex.Encode(Sample, Free.Size));

    [Fact]
    public void Read_HandComputedBytes_GivesSample() =>
        Assert.Equal(Sample, Free.Read(Hex.Bytes(Vector)));
}
