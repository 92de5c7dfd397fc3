using PvIommu.Abi.Structs;

namespace PvIommu.Abi.Tests.Structs;

/// <summary>pv_iommu_alloc, spec §2: size 8; ctx_no u16 @0 (OUT), pad @2, alloc_flags u32 @4.</summary>
public class AllocTests
{
    internal static readonly Alloc Sample = new()
    {
        CtxNo = 0x0102,
        AllocFlags = AllocFlags.Identity,
    };

    // Hand-computed little-endian encoding of Sample, fields separated by '|'.
    internal const string Vector =
        "02 01 | 00 00 | 01 00 00 00";

    [Fact]
    public void Write_Sample_GivesHandComputedBytes() =>
        Assert.Equal(Hex.Bytes(Vector), Hex.Encode(Sample, Alloc.Size));

    [Fact]
    public void Read_HandComputedBytes_GivesSample() =>
        Assert.Equal(Sample, Alloc.Read(Hex.Bytes(Vector)));
}
