namespace PvIommu.Abi.Tests;

/// <summary>spec §2: flag bits; any bit outside the known mask is rejected with -EINVAL.</summary>
public class FlagsTests
{
    [Fact]
    public void KnownFlags_Map_IsBitsZeroToThree() => Assert.Equal(0xFu, (uint)KnownFlags.Map);

    [Fact]
    public void KnownFlags_Cap_IsBitsZeroToSix() => Assert.Equal(0x7Fu, (uint)KnownFlags.Cap);

    [Fact]
    public void KnownFlags_AllocAndFree_AreBitZero()
    {
        Assert.Equal(1u, (uint)KnownFlags.Alloc);
        Assert.Equal(1u, (uint)KnownFlags.Free);
    }

    [Fact]
    public void KnownFlags_EveryFamily_IsTheOrOfItsBits()
    {
        Assert.Equal(KnownFlags.Cap, Enum.GetValues<CapFlags>().Aggregate(CapFlags.None, (a, b) => a | b));
        Assert.Equal(KnownFlags.Alloc, Enum.GetValues<AllocFlags>().Aggregate(AllocFlags.None, (a, b) => a | b));
        Assert.Equal(KnownFlags.Free, Enum.GetValues<FreeFlags>().Aggregate(FreeFlags.None, (a, b) => a | b));
        Assert.Equal(KnownFlags.Map, Enum.GetValues<MapFlags>().Aggregate(MapFlags.None, (a, b) => a | b));
    }

    [Fact]
    public void MapFlags_Bit4_FallsOutsideKnown() =>
        Assert.NotEqual(MapFlags.None, (MapFlags)(1u << 4) & ~KnownFlags.Map);

    [Theory]
    [InlineData(0x1000u, true)]
    [InlineData(0x20_0000u, true)]
    [InlineData(0x4000_0000u, true)]
    [InlineData(0u, false)]
    [InlineData(0x2000u, false)]
    [InlineData(0x1000u | 0x20_0000u, false)]
    [InlineData(0x8000_0000u, false)]
    public void PageSizes_IsSupported_OnlySingleAdvertisedSizes(uint pgsize, bool supported) =>
        Assert.Equal(supported, PageSizes.IsSupported(pgsize));

    [Fact]
    public void PageSizes_SupportedMask_Is4K2M1G() => Assert.Equal(0x4020_1000u, PageSizes.SupportedMask);

    [Fact]
    public void PageSizes_FramesPerPage_2M_Is512() => Assert.Equal(512UL, PageSizes.FramesPerPage(PageSizes.Size2M));

    [Fact]
    public void ContextNumbers_FixedNumbers_AreZeroFfffAnd65534()
    {
        Assert.Equal(0, ContextNumbers.DefaultContext);
        Assert.Equal(0xFFFF, ContextNumbers.NoContext);
        Assert.Equal(65534u, ContextNumbers.MaxContexts);
    }
}
