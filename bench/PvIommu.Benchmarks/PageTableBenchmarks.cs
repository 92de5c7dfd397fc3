using BenchmarkDotNet.Attributes;
using PvIommu.Platform.Memory;
using PvIommu.Platform.PageTables;

namespace PvIommu.Benchmarks;

/// <summary>
/// The page-table engine alone: VT-d second level, 4 levels, tables from a preallocated pool;
/// the <c>pt</c> workload of perf-contract.md at 1/16 of its size (map in runs of 256, random
/// lookups, unmap in runs). Figures are per page (map, unmap) or per lookup.
/// </summary>
/// <remarks>
/// Map and Unmap change the table, so each iteration gets a fresh one from
/// <c>[IterationSetup]</c> (which makes BenchmarkDotNet run one invocation per iteration; an
/// invocation maps 65,536 pages, long enough to time). Each fresh table lives in fresh machine
/// memory, so its first touches cost what they cost radix.c. Lookup only reads, so it shares
/// one table mapped in <c>[GlobalSetup]</c>.
/// </remarks>
[MemoryDiagnoser]
public class PageTableBenchmarks
{
    /// <summary>Pages mapped per invocation.</summary>
    public const int Pages = 65_536;

    /// <summary>Random lookups per invocation: four per page, as in the <c>pt</c> workload.</summary>
    public const int Lookups = 4 * Pages;

    /// <summary>Pages per map or unmap call.</summary>
    public const ulong Run = 256;

    /// <summary>First dfn mapped.</summary>
    public const ulong BaseDfn = 0x100000;

    /// <summary>The frame <see cref="BaseDfn"/> maps to; dfn + k maps to <c>BaseMfn + k</c>.</summary>
    public const ulong BaseMfn = 0x200000;

    /// <summary>radix.c's xorshift64 seed, so both pick the same lookup sequence.</summary>
    public const ulong Seed = 88172645463325252UL;

    // The pool sits above every mapped mfn; its size covers the L1 and L2 tables plus slack.
    private const ulong PoolMfn = 0x400000;
    private const int PoolPages = (Pages / 512) + (Pages / (512 * 512)) + 64;

    private PageTable<VtdSecondLevel> _mapped = null!;

    /// <summary>The table Map fills and Unmap empties (tests read it after a call).</summary>
    public PageTable<VtdSecondLevel> Table { get; private set; } = null!;

    [GlobalSetup(Target = nameof(Lookup))]
    public void MapLookupTable()
    {
        _mapped = NewTable();
        MapAll(_mapped);
    }

    [IterationSetup(Target = nameof(Map))]
    public void EmptyTable() => Table = NewTable();

    [IterationSetup(Target = nameof(Unmap))]
    public void FullTable()
    {
        Table = NewTable();
        MapAll(Table);
    }

    /// <summary>Maps <see cref="Pages"/> 4 KiB pages in runs of <see cref="Run"/>; returns the pages mapped.</summary>
    [Benchmark(OperationsPerInvoke = Pages)]
    public ulong Map() => MapAll(Table);

    /// <summary><see cref="Lookups"/> lookups of random mapped dfns; returns the sum of the frames found.</summary>
    [Benchmark(OperationsPerInvoke = Lookups)]
    public ulong Lookup()
    {
        var table = _mapped;
        var x = Seed;
        ulong sum = 0;
        for (var k = 0; k < Lookups; k++)
        {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if (table.TryLookup(BaseDfn + (x % Pages), out var leaf))
            {
                sum += leaf.Mfn;
            }
        }

        return sum;
    }

    /// <summary>Unmaps the <see cref="Pages"/> pages in runs of <see cref="Run"/>; returns the pages unmapped.</summary>
    [Benchmark(OperationsPerInvoke = Pages)]
    public ulong Unmap()
    {
        var table = Table;
        ulong total = 0;
        for (ulong b = 0; b < Pages; b += Run)
        {
            if (table.Unmap(BaseDfn + b, Run, out var done) != PtStatus.Ok)
            {
                throw new InvalidOperationException($"unmap at dfn {BaseDfn + b:x} failed");
            }

            total += done;
        }

        return total;
    }

    private static PageTable<VtdSecondLevel> NewTable()
    {
        var memory = new MachineMemory(PoolMfn + PoolPages);
        var pool = new TablePool(memory, new Mfn(PoolMfn), PoolPages);
        return PageTable.TryCreate<VtdSecondLevel>(pool, 4, out var table)
            ? table
            : throw new InvalidOperationException("the pool has no page for the root");
    }

    private static ulong MapAll(PageTable<VtdSecondLevel> table)
    {
        ulong total = 0;
        for (ulong b = 0; b < Pages; b += Run)
        {
            if (table.Map(BaseDfn + b, BaseMfn + b, Run, PteAccess.ReadWrite, maxLeafLevel: 1, out var done) != PtStatus.Ok)
            {
                throw new InvalidOperationException($"map at dfn {BaseDfn + b:x} failed");
            }

            total += done;
        }

        return total;
    }
}
