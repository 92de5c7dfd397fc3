namespace PvIommu.Guest.Dma;

/// <summary>Knobs of the IOVA allocator (Linux's values by default).</summary>
public sealed record IovaOptions
{
    /// <summary>CPUs that call it: callers pass a CPU index below this.</summary>
    public int Cpus { get; init; } = 8;

    /// <summary>Pfns per magazine (Linux: 127, so the structure is 1 KiB).</summary>
    public int MagazineSize { get; init; } = 127;

    /// <summary>Full magazines the depot keeps per size class (Linux's old fixed depot: 32).</summary>
    public int DepotLimit { get; init; } = 32;

    /// <summary>The largest alignment a tree allocation gets, in pages (1 GiB: no page is larger).</summary>
    public ulong MaxAlignmentPages { get; init; } = 1UL << 18;
}

/// <summary>What the IOVA allocator did and how its space looks (a snapshot).</summary>
public sealed record IovaCounters
{
    /// <summary>Allocations served from a per-CPU magazine or the depot.</summary>
    public long CacheHits { get; init; }

    /// <summary>Cacheable allocations (≤ 32 pages) the cache could not serve.</summary>
    public long CacheMisses { get; init; }

    /// <summary>Allocations served from the tree.</summary>
    public long TreeAllocations { get; init; }

    /// <summary>Allocations refused (no space below the limit, even after emptying the caches).</summary>
    public long Failures { get; init; }

    /// <summary>Times a failing allocation emptied every cache into the tree and tried again.</summary>
    public long CacheFlushes { get; init; }

    /// <summary>Frees.</summary>
    public long Frees { get; init; }

    /// <summary>Full magazines parked in a depot.</summary>
    public long MagazinesToDepot { get; init; }

    /// <summary>Full magazines returned to the tree because the depot was full.</summary>
    public long MagazinesSpilled { get; init; }

    /// <summary>Pfns held in caches now.</summary>
    public long CachedPfns { get; init; }

    /// <summary>The most pfns the caches can ever hold.</summary>
    public long CacheCapacity { get; init; }

    /// <summary>Blocks handed out and not freed.</summary>
    public long LiveAllocations { get; init; }

    /// <summary>Pages in those blocks (after rounding).</summary>
    public ulong LivePages { get; init; }

    /// <summary>Pages free in the tree (cached blocks are not free there).</summary>
    public ulong FreePages { get; init; }

    /// <summary>Free extents in the tree.</summary>
    public int FreeExtents { get; init; }

    /// <summary>The largest free extent, in pages.</summary>
    public ulong LargestFreeExtent { get; init; }

    /// <summary>1 − largest extent / free pages: 0 when the free space is one piece, near 1 when it is dust.</summary>
    public double Fragmentation => FreePages == 0 ? 0 : 1.0 - ((double)LargestFreeExtent / FreePages);
}
