using System.Runtime.CompilerServices;
using PvIommu.Platform.Memory;

namespace PvIommu.Platform.PageTables;

/// <summary>
/// The hypervisor's page-table engine for one IOMMU context: it writes hardware-format entries
/// (<typeparamref name="TFormat"/>) into machine frames taken from a <see cref="TablePool"/>,
/// which the IOMMU's walker then reads.
/// </summary>
/// <remarks>
/// <code>
///  dfn bits:  [ L5 ][ L4 ][ L3 ][ L2 ][ L1 ]   9 bits each, 4 KiB frames below
///  root ─► L4 table ─► L3 table ─► L2 table ─► L1 table ─► 4 KiB leaf
///                           └─ 1 GiB leaf └─ 2 MiB leaf
/// </code>
/// Invariants: every non-root table holds at least one present entry (empty tables go back to
/// the pool at once), each table's live-entry count is kept beside it in the pool, and every
/// table entry points into the pool. Runs are filled in place: one descent reaches a table,
/// then consecutive slots are written until the run or the table ends. Not thread-safe.
/// </remarks>
/// <typeparam name="TFormat">The hardware entry format.</typeparam>
public sealed unsafe partial class PageTable<TFormat>
    where TFormat : struct, IPteFormat
{
    private const int MaxLevels = 6;
    private readonly TablePool _pool;
    private readonly int _rootPage;

    // For a lookup over a contiguous pool: the root's entries, the pool's bias, and the index
    // shift of the top level (27 for 4 levels), read from the table itself, not through the pool.
    private readonly ulong* _rootWords;
    private readonly nint _bias;
    private readonly int _topShift;
    private long _pteWrites;
    private long _mappedFrames;
    private int _tablePages;

    // Level-1 tables that maps and unmaps reached, by 2 MiB region (dfn >> 9), direct-mapped on
    // the region's low bits: a DMA API's IOVAs cluster in a few neighbouring regions, so most maps
    // and unmaps of single pages start at their table instead of descending from the root. All
    // are forgotten whenever a table page goes back to the pool: no other change moves a level-1
    // table.
    private const int LeafCacheSlots = 8;
    private readonly ulong[] _leafRegions = new ulong[LeafCacheSlots];
    private readonly int[] _leafPages = new int[LeafCacheSlots];

    private PageTable(TablePool pool, int rootPage, int levels)
    {
        ForgetLeafTables();
        _pool = pool;
        _rootPage = rootPage;
        _tablePages = 1;
        Levels = levels;
        _rootWords = pool.IsContiguous ? pool.Words(rootPage) : null;
        _bias = pool.Bias;
        _topShift = PageLevel.Bits * (levels - 1);
    }

    /// <summary>Makes an empty table; see <see cref="PageTable.TryCreate{TFormat}"/>.</summary>
    internal static PageTable<TFormat>? TryCreateCore(TablePool pool, int levels)
    {
        ArgumentNullException.ThrowIfNull(pool);
        ArgumentOutOfRangeException.ThrowIfLessThan(levels, 3);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(levels, MaxLevels);
        return pool.TryTake(out var root) ? new PageTable<TFormat>(pool, root, levels) : null;
    }

    /// <summary>Levels of the walk (4: 48-bit addresses, 5: 57-bit).</summary>
    public int Levels { get; }

    /// <summary>The root table's frame (what a context entry points at).</summary>
    public Mfn Root => _pool.MfnOf(_rootPage);

    /// <summary>Highest dfn the table can map.</summary>
    public ulong MaxDfn => (1UL << (PageLevel.Bits * Levels)) - 1;

    /// <summary>Table pages this table holds, the root included.</summary>
    public int TablePages => _tablePages;

    /// <summary>4 KiB frames currently mapped (a superpage counts all its frames).</summary>
    public long MappedFrames => _mappedFrames;

    /// <summary>Entries written so far (leaves, table pointers, clears): the cost model's PTE writes.</summary>
    public long PteWrites => _pteWrites;

    /// <summary>Whether the table maps nothing (only the root is left).</summary>
    public bool IsEmpty => _mappedFrames == 0;

    /// <summary>
    /// Looks up <paramref name="dfn"/>: the frame it reaches, with the leaf's rights and level.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    [SkipLocalsInit]
    public bool TryLookup(ulong dfn, out PtLeaf leaf)
    {
        if (_rootWords is not null)
        {
            return TryLookupContiguous(dfn, out leaf);
        }

        // The scattered walk is a call: it fills a copy, so that a caller's leaf, which the
        // contiguous walk fills inline, never has its address taken and stays in registers.
        var found = TryLookupScattered(dfn, out var scattered);
        leaf = scattered;
        return found;
    }

    /// <summary>
    /// A walk over a pool whose frames lie at consecutive host addresses: the next table's
    /// address is the entry's address field plus the pool's bias, so a step is one load, as in a
    /// C table that keeps its pages in one block.
    /// </summary>
    /// <remarks>
    /// Lookups are independent of each other, so the fewer instructions a walk takes, the more
    /// walks the CPU keeps in flight while their loads miss: a random lookup is memory-bound.
    /// The three levels every table has are written out, with constant shifts.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryLookupContiguous(ulong dfn, out PtLeaf leaf)
    {
        var bias = _bias;
        var words = _rootWords;
        ulong e;

        // Levels above 3, counted by their index's shift (27 for level 4): IsLeaf tests the same
        // bits at every level above 1, so level 4's test serves them all.
        for (var shift = _topShift; shift > 18; shift -= PageLevel.Bits)
        {
            e = words[(nuint)(dfn >> shift) & (PageLevel.Entries - 1)];
            if (!TFormat.IsPresent(e) || TFormat.IsLeaf(e, 4))
            {
                return Ends(e, dfn, (shift / PageLevel.Bits) + 1, out leaf);
            }

            words = (ulong*)(bias + (nint)TFormat.AddressField(e));
        }

        e = words[(nuint)(dfn >> 18) & (PageLevel.Entries - 1)];
        if (!TFormat.IsPresent(e) || TFormat.IsLeaf(e, 3))
        {
            return Ends(e, dfn, 3, out leaf);
        }

        e = ((ulong*)(bias + (nint)TFormat.AddressField(e)))[(nuint)(dfn >> 9) & (PageLevel.Entries - 1)];
        if (!TFormat.IsPresent(e) || TFormat.IsLeaf(e, 2))
        {
            return Ends(e, dfn, 2, out leaf);
        }

        e = ((ulong*)(bias + (nint)TFormat.AddressField(e)))[(nuint)dfn & (PageLevel.Entries - 1)];
        return Ends(e, dfn, 1, out leaf);
    }

    /// <summary>A walk over a pool whose frames lie in scattered chunks: a step loads the entry, then the next table's page pointer.</summary>
    private bool TryLookupScattered(ulong dfn, out PtLeaf leaf)
    {
        ref var pointers = ref _pool.Pointers;
        var first = _pool.First.Value;
        var words = _pool.Words(_rootPage);
        for (var level = Levels; ; level--)
        {
            var e = words[(int)(dfn >> (PageLevel.Bits * (level - 1))) & (PageLevel.Entries - 1)];
            if (!TFormat.IsPresent(e) || TFormat.IsLeaf(e, level))
            {
                return Ends(e, dfn, level, out leaf);
            }

            // Every table entry points at a live page of the pool (the engine's invariant), so no range check.
            words = (ulong*)Unsafe.Add(ref pointers, (nint)(TFormat.Address(e) - first));
        }
    }

    /// <summary>Where a walk stops at <paramref name="level"/>: on a leaf, or on an absent entry.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Ends(ulong e, ulong dfn, int level, out PtLeaf leaf)
    {
        if (!TFormat.IsPresent(e))
        {
            leaf = default;
            return false;
        }

        var shift = PageLevel.Bits * (level - 1);
        leaf = new PtLeaf(TFormat.Address(e) + (dfn & ((1UL << shift) - 1)), TFormat.Access(e), level);
        return true;
    }

    /// <summary>The live-entry count of a table page (for tests of the reclaim invariant).</summary>
    internal int EntriesOf(int page) => _pool.Used(page);

    /// <summary>The cached level-1 table of <paramref name="dfn"/>'s 2 MiB region, else -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int CachedLeafTable(ulong dfn)
    {
        var region = dfn >> PageLevel.Bits;
        var slot = (int)(region % LeafCacheSlots);
        return _leafRegions[slot] == region ? _leafPages[slot] : -1;
    }

    /// <summary>Remembers <paramref name="page"/> as the level-1 table of <paramref name="dfn"/>'s 2 MiB region.</summary>
    private void CacheLeafTable(ulong dfn, int page)
    {
        var region = dfn >> PageLevel.Bits;
        var slot = (int)(region % LeafCacheSlots);
        _leafRegions[slot] = region;
        _leafPages[slot] = page;
    }

    /// <summary>Gives a table page back to the pool, forgetting every cached level-1 table.</summary>
    private void GiveTable(int page)
    {
        ForgetLeafTables();
        _pool.Give(page);
    }

    /// <summary>Empties the level-1 table cache (-1 in every slot: no table).</summary>
    private void ForgetLeafTables() => _leafPages.AsSpan().Fill(-1);

    /// <summary>Frees empty tables from <paramref name="level"/> up the recorded path; the root stays.</summary>
    private void ReclaimUpward(ReadOnlySpan<int> path, ReadOnlySpan<int> slots, int level)
    {
        for (; level < Levels; level++)
        {
            var page = path[level];
            if (_pool.Used(page) != 0)
            {
                return;
            }

            GiveTable(page);
            _tablePages--;
            var parent = path[level + 1];
            _pool.Words(parent)[slots[level + 1]] = 0;
            _pool.Used(parent)--;
            _pteWrites++;
        }
    }

    private bool TryNewTable(out int page)
    {
        if (!_pool.TryTake(out page))
        {
            return false;
        }

        _tablePages++;
        return true;
    }
}

/// <summary>Creates page tables.</summary>
public static class PageTable
{
    /// <summary>Makes an empty table of <paramref name="levels"/> levels; false when the pool has no page for the root.</summary>
    public static bool TryCreate<TFormat>(TablePool pool, int levels, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out PageTable<TFormat>? table)
        where TFormat : struct, IPteFormat
    {
        table = PageTable<TFormat>.TryCreateCore(pool, levels);
        return table is not null;
    }
}
