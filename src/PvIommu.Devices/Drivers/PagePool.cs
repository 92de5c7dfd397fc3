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
///  TryGet ──► cache (LIFO, mapped) ── empty? ──► allocate + map a refill batch (new pages enter the pool)
///  Recycle ─► cache ── full? ──► Release
///  Release ─► unmap + free (the page leaves the pool)
/// </code>
/// Documentation/networking/page_pool.rst; the cache is sized around the ring (the NAPI
/// budget's worth of pages per poll comes back to it). New pages come in refill batches, as
/// page_pool's bulk allocation does, mapped by one <see cref="IDriverEnvironment.TryMapEach"/>:
/// with PV-IOMMU, one multicall for the batch instead of a hypercall per page.
/// </remarks>
public sealed class PagePool
{
    private readonly IDriverEnvironment _environment;
    private readonly Stack<PoolPage> _cache;
    private readonly ulong[] _refillPages;
    private readonly ulong[] _refillIovas;
    private long _maps;
    private long _unmaps;
    private long _fastGets;
    private long _recycled;
    private long _mapFailures;

    /// <summary>
    /// A pool mapping pages <paramref name="direction"/>, keeping up to <paramref name="cacheSize"/>
    /// spare pages mapped, bringing new pages in <paramref name="refillBatch"/> at a time (fewer
    /// when the cache cannot hold the rest).
    /// </summary>
    public PagePool(IDriverEnvironment environment, DmaDirection direction, int cacheSize, int refillBatch = 1)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentOutOfRangeException.ThrowIfNegative(cacheSize);
        ArgumentOutOfRangeException.ThrowIfLessThan(refillBatch, 1);
        _environment = environment;
        Direction = direction;
        CacheSize = cacheSize;
        RefillBatch = Math.Min(refillBatch, cacheSize + 1);
        _cache = new Stack<PoolPage>(cacheSize);
        _refillPages = new ulong[RefillBatch];
        _refillIovas = new ulong[RefillBatch];
    }

    /// <summary>Most new pages allocated and mapped at once when the cache runs dry.</summary>
    public int RefillBatch { get; }

    /// <summary>How the pool's pages are mapped.</summary>
    public DmaDirection Direction { get; }

    /// <summary>Most spare pages kept mapped.</summary>
    public int CacheSize { get; }

    /// <summary>The pool's counters.</summary>
    public PagePoolCounters Stats => new(_maps, _unmaps, _fastGets, _recycled, _mapFailures, _cache.Count, _maps - _unmaps - _cache.Count);

    /// <summary>
    /// A mapped page: a recycled one if the cache has one, else a new page from a refill batch
    /// (the batch's other pages go to the cache).
    /// </summary>
    /// <returns>False when no page or mapping could be had.</returns>
    public bool TryGet(out PoolPage page)
    {
        if (_cache.TryPop(out page))
        {
            _fastGets++;
            return true;
        }

        if (Refill() && _cache.TryPop(out page))
        {
            return true;
        }

        _mapFailures++;
        return false;
    }

    /// <summary>Allocates up to a refill batch of pages and maps them in one go into the cache.</summary>
    private bool Refill()
    {
        var count = 0;
        while (count < _refillPages.Length && _environment.TryAllocatePage(out _refillPages[count]))
        {
            count++;
        }

        // A batch that cannot be mapped whole (IOVA space or arena short) falls back to one page,
        // as page_pool keeps the pages of a bulk allocation that did map.
        var mapped = count > 0 && _environment.TryMapEach(_refillPages.AsSpan(0, count), Direction, _refillIovas.AsSpan(0, count));
        if (!mapped && count > 1 && _environment.TryMapEach(_refillPages.AsSpan(0, 1), Direction, _refillIovas.AsSpan(0, 1)))
        {
            mapped = true;
            foreach (var address in _refillPages.AsSpan(1, count - 1))
            {
                _environment.FreePage(address);
            }

            count = 1;
        }

        if (!mapped)
        {
            foreach (var address in _refillPages.AsSpan(0, count))
            {
                _environment.FreePage(address);
            }

            return false;
        }

        // Pushed in reverse so the batch is handed out in allocation order.
        for (var i = count - 1; i >= 0; i--)
        {
            _cache.Push(new PoolPage(_refillPages[i], _refillIovas[i]));
        }

        _maps += count;
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
/// <param name="FastGets">Gets served from pages already in the cache (recycled, or left from an earlier refill batch).</param>
/// <param name="Recycled">Pages put back in the cache.</param>
/// <param name="MapFailures">Gets that found no page or mapping.</param>
/// <param name="Cached">Spare pages in the cache now.</param>
/// <param name="Outstanding">Pages handed out and not back (posted to the ring, or with the stack).</param>
public readonly record struct PagePoolCounters(long Maps, long Unmaps, long FastGets, long Recycled, long MapFailures, int Cached, long Outstanding);
