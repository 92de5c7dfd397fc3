using PvIommu.Platform.Memory;
using PvIommu.Platform.Pci;

namespace PvIommu.Platform.Tests.Pci;

/// <summary>Reserved regions (RMRR): the 1:1 ranges a device's firmware keeps using.</summary>
public sealed class ReservedRegionTests
{
    private readonly ReservedRegion _region = new(new Dfn(0x100), 0x10, "usb-legacy");

    [Theory]
    [InlineData(0x100UL, true)]
    [InlineData(0x10FUL, true)]
    [InlineData(0x110UL, false)]
    [InlineData(0xFFUL, false)]
    public void Contains_IsTheHalfOpenRange(ulong dfn, bool expected)
    {
        Assert.Equal(expected, _region.Contains(new Dfn(dfn)));
    }

    [Theory]
    [InlineData(0xF0UL, 0x10UL, false)] // ends just before
    [InlineData(0xF0UL, 0x11UL, true)] // touches the first frame
    [InlineData(0x10FUL, 1UL, true)] // the last frame
    [InlineData(0x110UL, 5UL, false)] // starts just after
    [InlineData(0x0UL, ulong.MaxValue, true)] // covers it, no overflow
    [InlineData(0x105UL, 0UL, false)] // empty range
    public void Overlaps_MatchesIntervalIntersection(ulong first, ulong count, bool expected)
    {
        Assert.Equal(expected, _region.Overlaps(new Dfn(first), count));
    }

    [Fact]
    public void Constructor_ZeroFrames_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReservedRegion(new Dfn(1), 0, "x"));
    }

    [Fact]
    public void Constructor_EmptyName_Throws()
    {
        Assert.Throws<ArgumentException>(() => new ReservedRegion(new Dfn(1), 1, " "));
    }

    [Theory]
    [InlineData(0xF_FFFF_FFFF_FFFFUL, 2UL)]
    [InlineData(0UL, ulong.MaxValue)]
    public void Constructor_PastTheTopOfTheAddressSpace_Throws(ulong start, ulong frames)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReservedRegion(new Dfn(start), frames, "x"));
    }

    [Fact]
    public void Constructor_EndingAtTheTopOfTheAddressSpace_IsAccepted()
    {
        Assert.Equal(new Dfn(1UL << 52), new ReservedRegion(new Dfn(0xF_FFFF_FFFF_FFFF), 1, "top").End);
    }

    [Fact]
    public void PciFunction_OverlappingRegions_Throws()
    {
        var a = new ReservedRegion(new Dfn(0x100), 0x10, "a");
        var b = new ReservedRegion(new Dfn(0x10F), 0x1, "b");

        Assert.Throws<ArgumentException>(() => new PciFunction(new Sbdf(0, 0, 2, 0), PciFunctionKind.Endpoint, "gpu", 0, [a, b]));
    }
}
