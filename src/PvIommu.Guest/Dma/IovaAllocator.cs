using System.Numerics;

namespace PvIommu.Guest.Dma;

/// <summary>
/// The IOVA allocator of one DMA domain, after Linux's <c>iova.c</c>: blocks up to 32 pages
/// are rounded up to a power of two and recycled through per-CPU magazines; larger ones, and
/// every cache miss, come top-down from a tree of free extents, aligned to their size. Reserved
/// regions are taken out of the space at the start.
/// </summary>
/// <remarks>
/// Against the Linux failures of research/perf-anchors §1.3: the caches are bounded (depot
/// limit), so parked blocks cannot grow without end; an allocation that finds no space empties
/// every cache into the tree and tries once more, so blocks cached for an old size (the MTU
/// 9000 → 1500 case) cannot starve a new size; the tree indexes free space with the largest
/// extent of each subtree, so a request that cannot fit fails at once instead of walking the
/// tree. Not thread-safe: CPUs are indices the caller passes, run one at a time.
/// </remarks>
public sealed class IovaAllocator
{
    /// <summary>The largest block the caches hold, in pages (Linux's IOVA_RANGE_CACHE_MAX_SIZE 6: orders 0..5).</summary>
    public const ulong MaxCachedPages = 1UL << (IovaRcache.Classes - 1);

    private readonly IovaTree _tree;
    private readonly IovaRcache _rcache;
    private readonly PfnMap<ulong> _live = new();
    private readonly List<ulong> _spill = [];
    private long _hits;
    private long _misses;
    private long _treeAllocations;
    private long _failures;
    private long _flushes;
    private long _frees;
    private ulong _livePages;

    /// <summary>An allocator for pfns [<paramref name="firstPfn"/>, <paramref name="endPfn"/>), all free.</summary>
    /// <exception cref="ArgumentOutOfRangeException">an empty window or bad options.</exception>
    public IovaAllocator(ulong firstPfn, ulong endPfn, IovaOptions? options = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(endPfn, firstPfn);
        Options = options ?? new IovaOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(Options.Cpus, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(Options.MagazineSize, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegative(Options.DepotLimit, nameof(options));
        if (!BitOperations.IsPow2(Options.MaxAlignmentPages))
        {
            throw new ArgumentOutOfRangeException(nameof(options), "the largest alignment must be a power of two");
        }

        FirstPfn = firstPfn;
        EndPfn = endPfn;
        _tree = new IovaTree(firstPfn, endPfn);
        _rcache = new IovaRcache(Options.Cpus, Options.MagazineSize, Options.DepotLimit);
    }

    /// <summary>The lowest pfn it hands out.</summary>
    public ulong FirstPfn { get; }

    /// <summary>One past the highest pfn it hands out.</summary>
    public ulong EndPfn { get; }

    /// <summary>Its knobs.</summary>
    public IovaOptions Options { get; }

    /// <summary>A snapshot of the counters and of the free space.</summary>
    public IovaCounters Counters => new()
    {
        CacheHits = _hits,
        CacheMisses = _misses,
        TreeAllocations = _treeAllocations,
        Failures = _failures,
        CacheFlushes = _flushes,
        Frees = _frees,
        MagazinesToDepot = _rcache.MagazinesToDepot,
        MagazinesSpilled = _rcache.MagazinesSpilled,
        CachedPfns = _rcache.Cached,
        CacheCapacity = _rcache.Capacity,
        LiveAllocations = _live.Count,
        LivePages = _livePages,
        FreePages = _tree.FreePages,
        FreeExtents = _tree.Extents,
        LargestFreeExtent = _tree.LargestExtent,
    };

    /// <summary>The pages a request of <paramref name="pages"/> occupies: a power of two up to 32, else itself.</summary>
    public static ulong BlockPages(ulong pages) =>
        pages <= MaxCachedPages ? BitOperations.RoundUpToPowerOf2(Math.Max(pages, 1)) : pages;

    /// <summary>
    /// Keeps [<paramref name="pfn"/>, +<paramref name="pages"/>) out of every later allocation
    /// (Linux's <c>reserve_iova</c>): the MSI window, a device's RMRRs.
    /// </summary>
    /// <returns>Pages taken out of the free space (less when part was not free).</returns>
    public ulong Reserve(ulong pfn, ulong pages) => pages == 0 ? 0 : _tree.Reserve(pfn, pages);

    /// <summary>
    /// Allocates a block for <paramref name="pages"/> pages that ends at or below
    /// <paramref name="limitPfn"/> (the device's DMA window: 2^20 for a 32-bit device), on
    /// behalf of CPU <paramref name="cpu"/>.
    /// </summary>
    /// <param name="cpu">The calling CPU's index.</param>
    /// <param name="pages">Pages wanted.</param>
    /// <param name="limitPfn">One past the highest pfn the block may cover.</param>
    /// <param name="pfn">The block's first pfn.</param>
    /// <param name="flushCachesOnFailure">
    /// Whether a failing search empties the caches and retries (Linux passes false for its
    /// first, 32-bit-only attempt, and true for the full window).
    /// </param>
    /// <returns>False when no space is left below the limit.</returns>
    /// <exception cref="ArgumentOutOfRangeException">a CPU index outside the options' range.</exception>
    public bool TryAllocate(int cpu, ulong pages, ulong limitPfn, out ulong pfn, bool flushCachesOnFailure = true)
    {
        CheckCpu(cpu);
        pfn = 0;
        var size = BlockPages(pages);
        var limit = Math.Min(limitPfn, EndPfn);
        if (pages == 0 || limit <= FirstPfn || size > limit - FirstPfn)
        {
            _failures++;
            return false;
        }

        if (size <= MaxCachedPages)
        {
            if (_rcache.TryGet(cpu, Class(size), limit - size, out pfn))
            {
                _hits++;
                Track(pfn, size);
                return true;
            }

            _misses++;
        }

        var alignment = Math.Min(BitOperations.RoundUpToPowerOf2(size), Options.MaxAlignmentPages);
        if (!_tree.TryAllocate(size, alignment, limit, out pfn))
        {
            // Space may be parked in caches (blocks of another size, or above this limit): return it all and retry once.
            if (!flushCachesOnFailure || _rcache.Cached == 0)
            {
                _failures++;
                return false;
            }

            FlushCaches();
            if (!_tree.TryAllocate(size, alignment, limit, out pfn))
            {
                _failures++;
                return false;
            }
        }

        _treeAllocations++;
        Track(pfn, size);
        return true;
    }

    /// <summary>Frees a block that <see cref="TryAllocate"/> gave for <paramref name="pages"/> pages, into CPU <paramref name="cpu"/>'s cache when it is small.</summary>
    /// <exception cref="InvalidOperationException">the block is not live with that size (a bug of the caller).</exception>
    /// <exception cref="ArgumentOutOfRangeException">a CPU index outside the options' range.</exception>
    public void Free(int cpu, ulong pfn, ulong pages)
    {
        CheckCpu(cpu);
        var size = BlockPages(pages);
        if (!_live.TryGetValue(pfn, out var held) || held != size)
        {
            // A wrong size frees nothing: the block stays live.
            throw new InvalidOperationException($"IOVA pfn {pfn:x} of {size} pages is not allocated");
        }

        _live.Remove(pfn, out _);
        _livePages -= size;
        _frees++;
        if (size > MaxCachedPages)
        {
            _tree.Free(pfn, size);
            return;
        }

        _rcache.Put(cpu, Class(size), pfn, _spill);
        foreach (var spilled in _spill)
        {
            _tree.Free(spilled, size);
        }

        _spill.Clear();
    }

    /// <summary>Empties every CPU's magazines and the depots into the tree (Linux's <c>free_cpu_cached_iovas</c> plus <c>free_global_cached_iovas</c>).</summary>
    public void FlushCaches()
    {
        _flushes++;
        for (var cls = 0; cls < IovaRcache.Classes; cls++)
        {
            _rcache.Drain(cls, _spill);
            foreach (var pfn in _spill)
            {
                _tree.Free(pfn, 1UL << cls);
            }

            _spill.Clear();
        }
    }

    /// <summary>Whether a block starts at <paramref name="pfn"/> and is handed out.</summary>
    public bool IsLive(ulong pfn) => _live.ContainsKey(pfn);

    /// <summary>The free extents of the tree, lowest first (for tests and reports).</summary>
    public IReadOnlyList<(ulong Start, ulong End)> FreeExtents() => _tree.FreeExtents();

    private static int Class(ulong size) => BitOperations.Log2(size);

    private void Track(ulong pfn, ulong size)
    {
        _live.Add(pfn, size);
        _livePages += size;
    }

    private void CheckCpu(int cpu) => ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)cpu, (uint)Options.Cpus, nameof(cpu));
}
