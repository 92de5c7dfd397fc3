using PvIommu.Platform.PageTables;

namespace PvIommu.Platform.Tests.PageTables;

/// <summary>
/// Maps and unmaps start from the level-1 table the last one reached when the dfn lies in the
/// same 2 MiB region. The cache must never outlive its table: freed by an unmap that empties it,
/// by a collapse, or by a destroy.
/// </summary>
public class PageTableLeafCacheTests
{
    private const ulong Region = 0x4_0000;

    [Fact]
    public void SinglePages_InOneRegion_ThenTheLastUnmap_FreesEveryTableAboveTheRoot()
    {
        var h = new Harness<VtdSecondLevel>();
        var dfns = new ulong[] { 7, 300, 8, 511, 0, 299 };
        foreach (var d in dfns)
        {
            Assert.Equal(PtStatus.Ok, h.Table.Map(Region + d, 9000 + d, 1, PteAccess.ReadWrite, 2, out var done));
            Assert.Equal(1UL, done);
        }

        Assert.Equal(PtStatus.InUse, h.Table.Map(Region + 300, 1, 1, PteAccess.Read, 2, out _));
        foreach (var d in dfns)
        {
            Assert.Equal(new PtLeaf(9000 + d, PteAccess.ReadWrite, 1), h.Walk(Region + d));
        }

        foreach (var d in dfns)
        {
            Assert.Equal(PtStatus.Ok, h.Table.Unmap(Region + d, 1, out var done));
            Assert.Equal(1UL, done);
            Assert.Null(h.Walk(Region + d));
            Assert.Equal(h.CheckTables(), h.Table.TablePages);
        }

        Assert.Equal(PtStatus.NotMapped, h.Table.Unmap(Region + 7, 1, out _));
        Assert.Equal(1, h.Table.TablePages);
        Assert.True(h.Table.IsEmpty);

        // The region maps again from a fresh table.
        Assert.Equal(PtStatus.Ok, h.Table.Map(Region + 5, 42, 1, PteAccess.Read, 2, out _));
        Assert.Equal(new PtLeaf(42, PteAccess.Read, 1), h.Walk(Region + 5));
        Assert.Equal(h.CheckTables(), h.Table.TablePages);
    }

    [Fact]
    public void ARegionWhoseTableWasFreed_ThenMappedBy2MLeaf_IsNotWrittenThroughTheOldTable()
    {
        var h = new Harness<VtdSecondLevel>();
        Assert.Equal(PtStatus.Ok, h.Table.Map(Region + 3, 77, 1, PteAccess.ReadWrite, 2, out _));
        Assert.Equal(PtStatus.Ok, h.Table.Unmap(Region + 3, 1, out _));
        Assert.Equal(1, h.Table.TablePages);

        // A 2 MiB leaf now covers the region: a page of it is in use, and unmapping one splits it.
        Assert.Equal(PtStatus.Ok, h.Table.Map(Region, 0x20_0000, 512, PteAccess.ReadWrite, 2, out _));
        Assert.Equal(2, h.Walk(Region + 9)!.Value.Level);
        Assert.Equal(h.CheckTables(), h.Table.TablePages);
        AssertTheLeafCoversTheRegion(h, 9);
    }

    [Fact]
    public void ACollapsedRegion_IsNotWrittenThroughTheTableItGaveBack()
    {
        var h = new Harness<AmdV1>();
        Assert.Equal(PtStatus.Ok, h.Table.Map(Region, 0x20_0000, 512, PteAccess.ReadWrite, 1, out _));
        Assert.Equal(1, h.Walk(Region + 100)!.Value.Level);

        h.Table.Collapse(Region, 2);

        Assert.Equal(2, h.Walk(Region + 100)!.Value.Level);
        AssertTheLeafCoversTheRegion(h, 100);
    }

    [Fact]
    public void TwoRegionsInTurn_EachSeesItsOwnTable()
    {
        var h = new Harness<VtdSecondLevel>();
        for (ulong i = 0; i < 64; i++)
        {
            var region = i % 2 == 0 ? Region : Region + 512;
            Assert.Equal(PtStatus.Ok, h.Table.Map(region + i, 1000 + i, 1, PteAccess.ReadWrite, 2, out _));
        }

        for (ulong i = 0; i < 64; i++)
        {
            var region = i % 2 == 0 ? Region : Region + 512;
            Assert.Equal(new PtLeaf(1000 + i, PteAccess.ReadWrite, 1), h.Walk(region + i));
            Assert.Null(h.Walk((i % 2 == 0 ? Region + 512 : Region) + i));
        }

        for (ulong i = 0; i < 64; i++)
        {
            Assert.Equal(PtStatus.Ok, h.Table.Unmap((i % 2 == 0 ? Region : Region + 512) + i, 1, out _));
        }

        Assert.Equal(1, h.Table.TablePages);
    }

    [Fact]
    public void RegionsSharingACacheSlot_EachGetTheirOwnTable()
    {
        // Regions 8 apart fall in the same slot of the eight; one evicts the other.
        var h = new Harness<VtdSecondLevel>();
        var regions = new[] { Region, Region + (8 * 512), Region + (16 * 512) };
        for (ulong i = 0; i < 30; i++)
        {
            var dfn = regions[i % 3] + i;
            Assert.Equal(PtStatus.Ok, h.Table.Map(dfn, 500 + i, 1, PteAccess.ReadWrite, 2, out _));
        }

        for (ulong i = 0; i < 30; i++)
        {
            Assert.Equal(new PtLeaf(500 + i, PteAccess.ReadWrite, 1), h.Walk(regions[i % 3] + i));
            Assert.Null(h.Walk(regions[(i + 1) % 3] + i));
        }

        for (ulong i = 0; i < 30; i++)
        {
            Assert.Equal(PtStatus.Ok, h.Table.Unmap(regions[i % 3] + i, 1, out _));
        }

        Assert.Equal(1, h.Table.TablePages);
    }

    /// <summary>
    /// Region's frames map 0x200000.. through one 2 MiB leaf, not through a table that was
    /// freed: a map of one page is refused as in use, and an unmap of page
    /// <paramref name="page"/> splits the leaf and removes that page alone.
    /// </summary>
    private static void AssertTheLeafCoversTheRegion<TFormat>(Harness<TFormat> h, ulong page)
        where TFormat : struct, IPteFormat
    {
        Assert.Equal(PtStatus.InUse, h.Table.Map(Region + page, 5, 1, PteAccess.ReadWrite, 1, out _));
        Assert.Equal(PtStatus.Ok, h.Table.Unmap(Region + page, 1, out _));
        Assert.Null(h.Walk(Region + page));
        Assert.Equal(new PtLeaf(0x20_0000 + page + 1, PteAccess.ReadWrite, 1), h.Walk(Region + page + 1));
        Assert.Equal(h.CheckTables(), h.Table.TablePages);
    }
}
