using PvIommu.Abi.Structs;

namespace PvIommu.Abi.Tests.Structs;

/// <summary>pv_iommu_init, spec §2: size 8; max_ctx_no u32 @0, arena_order u32 @4.</summary>
public class InitTests
{
    internal static readonly Init Sample = new()
    {
        MaxCtxNo = ContextNumbers.MaxContexts,
        ArenaOrder = ContextNumbers.MaxArenaOrder,
    };

    // Hand-computed little-endian encoding of Sample, fields separated by '|'.
    internal const string Vector =
        "FE FF 00 00 | 14 00 00 00";

    [Fact]
    public void Write_Sample_GivesHandComputedBytes() =>
        Assert.Equal(Hex.Bytes(Vector), Hex.Encode(Sample, Init.Size));

    [Fact]
    public void Read_HandComputedBytes_GivesSample() =>
        Assert.Equal(Sample, Init.Read(Hex.Bytes(Vector)));
}
