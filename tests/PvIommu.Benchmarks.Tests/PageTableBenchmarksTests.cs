using PvIommu.Platform.PageTables;

namespace PvIommu.Benchmarks.Tests;

/// <summary>The page-table benchmarks measure the work they claim: called by hand, one invocation each.</summary>
public class PageTableBenchmarksTests
{
    private const ulong Pages = PageTableBenchmarks.Pages;

    [Fact]
    public void Map_FreshTable_MapsEveryPageToItsFrame()
    {
        var bench = new PageTableBenchmarks();
        bench.EmptyTable();

        Assert.Equal(Pages, bench.Map());

        Assert.Equal((long)Pages, bench.Table.MappedFrames);
        foreach (var k in new ulong[] { 0, 1, 255, 256, 12_345, Pages - 1 })
        {
            Assert.True(bench.Table.TryLookup(PageTableBenchmarks.BaseDfn + k, out var leaf));
            Assert.Equal(new PtLeaf(PageTableBenchmarks.BaseMfn + k, PteAccess.ReadWrite, 1), leaf);
        }

        Assert.False(bench.Table.TryLookup(PageTableBenchmarks.BaseDfn + Pages, out _));
    }

    [Fact]
    public void Lookup_MappedTable_SumsTheFramesOfRadixCsSequence()
    {
        var bench = new PageTableBenchmarks();
        bench.MapLookupTable();

        // The same xorshift64 sequence, translated by arithmetic instead of by the table.
        var x = PageTableBenchmarks.Seed;
        ulong expected = 0;
        for (var k = 0; k < PageTableBenchmarks.Lookups; k++)
        {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            expected += PageTableBenchmarks.BaseMfn + (x % Pages);
        }

        Assert.Equal(expected, bench.Lookup());
    }

    [Fact]
    public void Unmap_FullTable_LeavesOnlyTheRoot()
    {
        var bench = new PageTableBenchmarks();
        bench.FullTable();

        Assert.Equal(Pages, bench.Unmap());

        Assert.True(bench.Table.IsEmpty);
        Assert.Equal(1, bench.Table.TablePages);
    }
}
