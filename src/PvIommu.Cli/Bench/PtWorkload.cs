using System.Diagnostics;
using System.Runtime.CompilerServices;
using PvIommu.Platform.Memory;
using PvIommu.Platform.PageTables;

namespace PvIommu.Cli.Bench;

/// <summary>
/// <c>pt</c>: the page-table engine alone, VT-d second-level format, tables from a preallocated
/// pool; the same work as <c>RADIX_RUNS=1 radix 1048576 256</c>: map 1,048,576 pages
/// dfn 0x100000.. → mfn 0x200000.. in runs of 256, 4,194,304 random lookups, unmap in runs.
/// </summary>
internal sealed class PtWorkload : IWorkload
{
    private const ulong BaseDfn = 0x100000;
    private const ulong BaseMfn = 0x200000;
    private const ulong PoolMfn = 0x400000;

    public string Name => "pt";

    public string Description => "page-table engine alone: map, random lookup, unmap (VT-d second level)";

    public BenchResult Run(double scale)
    {
        var pages = Math.Max(4096UL, (ulong)(1048576 * scale));
        var lookups = Math.Max(16384UL, (ulong)(4194304 * scale));
        const ulong Batch = 256;

        // Two full unmeasured passes let the tiered JIT reach its optimised code first; each
        // measured pass then starts on fresh memory, so it pays the same first-touch page
        // faults radix.c pays.
        Measure(pages, lookups, Batch);
        Measure(pages, lookups, Batch);
        var runs = new[] { Measure(pages, lookups, Batch), Measure(pages, lookups, Batch), Measure(pages, lookups, Batch) };
        var median = runs.OrderBy(r => r.MapNs).ElementAt(1);
        return new BenchResult(Name)
            .Add("pages", (long)pages)
            .Add("batch", (long)Batch)
            .Add("lookups", (long)lookups)
            .Add("map_ns_per_page", median.MapNs)
            .Add("lookup_ns", runs.OrderBy(r => r.LookupNs).ElementAt(1).LookupNs)
            .Add("unmap_ns_per_page", runs.OrderBy(r => r.UnmapNs).ElementAt(1).UnmapNs)
            .Add("table_bytes_peak", median.PeakBytes)
            .Add("table_pages_after_unmap", median.PagesAfter)
            .Add("checksum", (long)median.Checksum);
    }

    private static Figures Measure(ulong pages, ulong lookups, ulong batch)
    {
        var poolPages = (int)((pages / 512) + (pages / (512 * 512)) + 64);
        var memory = new MachineMemory(PoolMfn + (ulong)poolPages);
        var pool = new TablePool(memory, new Mfn(PoolMfn), poolPages);
        if (!PageTable.TryCreate<VtdSecondLevel>(pool, 4, out var table))
        {
            throw new InvalidOperationException("no root page");
        }

        var clock = Stopwatch.StartNew();
        MapAll(table, pages, batch);
        var mapTicks = clock.Elapsed.TotalNanoseconds;
        clock.Restart();
        var sum = LookupAll(table, pages, lookups);
        var lookupTicks = clock.Elapsed.TotalNanoseconds;
        var peak = (long)pool.Peak * Frame.Size;
        clock.Restart();
        UnmapAll(table, pages, batch);
        var unmapTicks = clock.Elapsed.TotalNanoseconds;
        return new Figures(mapTicks / pages, lookupTicks / lookups, unmapTicks / pages, peak, table.TablePages, sum);
    }

    // The timed loops are methods of their own, compiled fully optimised at once: a long loop
    // inside a method the tiered JIT has not promoted runs as on-stack-replacement code, which
    // is slower than what a real caller gets.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MapAll(PageTable<VtdSecondLevel> table, ulong pages, ulong batch)
    {
        for (ulong b = 0; b < pages; b += batch)
        {
            var k = Math.Min(batch, pages - b);
            if (table.Map(BaseDfn + b, BaseMfn + b, k, PteAccess.ReadWrite, 1, out _) != PtStatus.Ok)
            {
                throw new InvalidOperationException("map failed");
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static ulong LookupAll(PageTable<VtdSecondLevel> table, ulong pages, ulong lookups)
    {
        var rng = new Xorshift64(Xorshift64.RadixSeed);
        ulong sum = 0;
        for (ulong k = 0; k < lookups; k++)
        {
            if (table.TryLookup(BaseDfn + (rng.Next() % pages), out var leaf))
            {
                sum += leaf.Mfn;
            }
        }

        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void UnmapAll(PageTable<VtdSecondLevel> table, ulong pages, ulong batch)
    {
        for (ulong b = 0; b < pages; b += batch)
        {
            var k = Math.Min(batch, pages - b);
            if (table.Unmap(BaseDfn + b, k, out _) != PtStatus.Ok)
            {
                throw new InvalidOperationException("unmap failed");
            }
        }
    }

    private readonly record struct Figures(double MapNs, double LookupNs, double UnmapNs, long PeakBytes, int PagesAfter, ulong Checksum);
}
