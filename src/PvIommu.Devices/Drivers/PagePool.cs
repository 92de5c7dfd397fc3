namespace PvIommu.Devices.Drivers;

/// <summary>A page of a <see cref="PagePool"/>: the driver's address and the IOVA it stays mapped at.</summary>
/// <param name="Address">The page in driver memory.</param>
/// <param name="Iova">Where the device reaches it.</param>
public readonly record struct PoolPage(ulong Address, ulong Iova);

/// <summary>
/// Linux's <c>page_pool</c> for receive buffers: pages are mapped once, when they enter the
/// pool, and recycled while mapped; a page is unmapped only when it leaves the pool (the stack
/// kept it, or the cache is full, or the pool is drained).
/// </summary>
/// <remarks>
/// <code>
///  TryGet ──► cache (LIFO, mapped) ── empty? ──► allocate + map (a new page enters the pool)
///  Recycle ─► cache ── full? ──► Release
///  Release ─► unmap + free (the page leaves the pool)
/// </code>
/// Documentation/networking/page_pool.rst; the cache is sized around the ring (the NAPI
/// budget's worth of pages per poll comes back to it).
/// </remarks>
public sealed class PagePool
{
    private readonly IDriverEnvironment _environment;
    private readonly Stack<PoolPage> _cache;
    private long _maps;
    private long _unmaps;
    private long _fastGets;
    private long _recycled;
    private long _mapFailures;

    /// <summary>A pool mapping pages <paramref name="direction"/>, keeping up to <paramref name="cacheSize"/> spare pages mapped.</summary>
    public PagePool(IDriverEnvironment environment, DmaDirection direction, int cacheSize)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentOutOfRangeException.ThrowIfNegative(cacheSize);
        _environment = environment;
        Direction = direction;
        CacheSize = cacheSize;
        _cache = new Stack<PoolPage>(cacheSize);
    }

    /// <summary>How the pool's pages are mapped.</summary>
    public DmaDirection Direction { get; }

    /// <summary>Most spare pages kept mapped.</summary>
    public int CacheSize { get; }

    /// <summary>The pool's counters.</summary>
    public PagePoolCounters Stats => new(_maps, _unmaps, _fastGets, _recycled, _mapFailures, _cache.Count, _maps - _unmaps - _cache.Count);

    /// <summary>A mapped page: a recycled one if the cache has one, else a new page, mapped now.</summary>
    /// <returns>False when no page or mapping could be had.</returns>
    public bool TryGet(out PoolPage page)
    {
        if (_cache.TryPop(out page))
        {
            _fastGets++;
            return true;
        }

        if (!_environment.TryAllocatePage(out var address))
        {
            _mapFailures++;
            return false;
        }

        if (!_environment.TryMap([address], Direction, out var iova))
        {
            _environment.FreePage(address);
            _mapFailures++;
            return false;
        }

        _maps++;
        page = new PoolPage(address, iova);
        return true;
    }

    /// <summary>Gives a page back while mapped; it leaves the pool only if the cache is full.</summary>
    public void Recycle(PoolPage page)
    {
        if (_cache.Count < CacheSize)
        {
            _cache.Push(page);
            _recycled++;
            return;
        }

        Release(page);
    }

    /// <summary>A page leaves the pool: unmapped and freed.</summary>
    public void Release(PoolPage page)
    {
        _environment.Unmap(page.Iova, 1, Direction);
        _environment.FreePage(page.Address);
        _unmaps++;
    }

    /// <summary>Releases every cached page.</summary>
    public void Drain()
    {
        while (_cache.TryPop(out var page))
        {
            Release(page);
        }
    }
}

/// <summary>What a page pool has done.</summary>
/// <param name="Maps">Pages that entered the pool (allocated and mapped).</param>
/// <param name="Unmaps">Pages that left it (unmapped and freed).</param>
/// <param name="FastGets">Gets served from the cache, without a map.</param>
/// <param name="Recycled">Pages put back in the cache.</param>
/// <param name="MapFailures">Gets that found no page or mapping.</param>
/// <param name="Cached">Spare pages in the cache now.</param>
/// <param name="Outstanding">Pages handed out and not back (posted to the ring, or with the stack).</param>
public readonly record struct PagePoolCounters(long Maps, long Unmaps, long FastGets, long Recycled, long MapFailures, int Cached, long Outstanding);
