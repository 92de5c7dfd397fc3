namespace PvIommu.Guest.Dma;

/// <summary>
/// Linux's IOVA range cache (<c>drivers/iommu/iova.c</c>): for each cached size (1, 2, 4, 8, 16
/// and 32 pages), each CPU holds a loaded and a previous magazine of 127 pfns, and a depot
/// keeps full magazines for any CPU. The depot is bounded, so the cache can never hold more
/// than <see cref="Capacity"/> pfns: what would overflow goes back to the tree.
/// </summary>
/// <remarks>
/// <code>
///  cpu 0: [loaded 0..127] [prev 0..127]   ┐
///  cpu 1: [loaded]        [prev]          ├─ per size class
///  depot: [full] [full] ... ≤ DepotLimit  ┘
/// </code>
/// </remarks>
internal sealed class IovaRcache
{
    /// <summary>Size classes: 2^0 .. 2^5 pages.</summary>
    public const int Classes = 6;

    private readonly Magazine[,] _loaded;
    private readonly Magazine[,] _prev;
    private readonly Stack<Magazine>[] _depot;
    private readonly int _magazineSize;
    private readonly int _depotLimit;

    public IovaRcache(int cpus, int magazineSize, int depotLimit)
    {
        _magazineSize = magazineSize;
        _depotLimit = depotLimit;
        _loaded = new Magazine[Classes, cpus];
        _prev = new Magazine[Classes, cpus];
        _depot = new Stack<Magazine>[Classes];
        for (var c = 0; c < Classes; c++)
        {
            _depot[c] = new Stack<Magazine>();
            for (var cpu = 0; cpu < cpus; cpu++)
            {
                _loaded[c, cpu] = new Magazine(magazineSize);
                _prev[c, cpu] = new Magazine(magazineSize);
            }
        }

        Capacity = (long)Classes * ((2L * cpus) + depotLimit) * magazineSize;
    }

    /// <summary>The most pfns the cache can hold.</summary>
    public long Capacity { get; }

    /// <summary>Pfns held now.</summary>
    public long Cached { get; private set; }

    /// <summary>Full magazines parked in the depot so far.</summary>
    public long MagazinesToDepot { get; private set; }

    /// <summary>Full magazines emptied back into the tree because the depot was full.</summary>
    public long MagazinesSpilled { get; private set; }

    /// <summary>
    /// A cached pfn of class <paramref name="cls"/> no higher than <paramref name="maxPfn"/>
    /// (so that the block ends below the caller's limit), from the CPU's magazines or the depot.
    /// </summary>
    public bool TryGet(int cpu, int cls, ulong maxPfn, out ulong pfn)
    {
        var loaded = _loaded[cls, cpu];
        if (loaded.Count == 0)
        {
            if (_prev[cls, cpu].Count != 0)
            {
                (_loaded[cls, cpu], _prev[cls, cpu]) = (_prev[cls, cpu], loaded);
            }
            else if (_depot[cls].Count != 0)
            {
                _loaded[cls, cpu] = _depot[cls].Pop();
            }

            loaded = _loaded[cls, cpu];
        }

        if (loaded.TryPop(maxPfn, out pfn))
        {
            Cached--;
            return true;
        }

        return false;
    }

    /// <summary>
    /// Caches <paramref name="pfn"/>; when the CPU's magazines are full and the depot too, a
    /// full magazine's pfns are added to <paramref name="spill"/> for the caller to free.
    /// </summary>
    public void Put(int cpu, int cls, ulong pfn, List<ulong> spill)
    {
        var loaded = _loaded[cls, cpu];
        if (loaded.IsFull)
        {
            if (!_prev[cls, cpu].IsFull)
            {
                (_loaded[cls, cpu], _prev[cls, cpu]) = (_prev[cls, cpu], loaded);
            }
            else if (_depot[cls].Count < _depotLimit)
            {
                _depot[cls].Push(loaded);
                _loaded[cls, cpu] = new Magazine(_magazineSize);
                MagazinesToDepot++;
            }
            else
            {
                // Depot full: this magazine's pfns go back to the tree and it is reused empty.
                Cached -= loaded.Count;
                loaded.DrainInto(spill);
                MagazinesSpilled++;
            }

            loaded = _loaded[cls, cpu];
        }

        loaded.Push(pfn);
        Cached++;
    }

    /// <summary>Empties every magazine of class <paramref name="cls"/> (all CPUs and the depot) into <paramref name="pfns"/>.</summary>
    public void Drain(int cls, List<ulong> pfns)
    {
        var before = pfns.Count;
        for (var cpu = 0; cpu < _loaded.GetLength(1); cpu++)
        {
            _loaded[cls, cpu].DrainInto(pfns);
            _prev[cls, cpu].DrainInto(pfns);
        }

        while (_depot[cls].Count != 0)
        {
            _depot[cls].Pop().DrainInto(pfns);
        }

        Cached -= pfns.Count - before;
    }

    /// <summary>A fixed array of pfns used as a stack.</summary>
    private sealed class Magazine(int size)
    {
        private readonly ulong[] _pfns = new ulong[size];

        public int Count { get; private set; }

        public bool IsFull => Count == _pfns.Length;

        public void Push(ulong pfn) => _pfns[Count++] = pfn;

        /// <summary>The most recent pfn ≤ <paramref name="maxPfn"/> (Linux's <c>iova_magazine_pop</c> scans the same way).</summary>
        public bool TryPop(ulong maxPfn, out ulong pfn)
        {
            for (var i = Count - 1; i >= 0; i--)
            {
                if (_pfns[i] <= maxPfn)
                {
                    pfn = _pfns[i];
                    _pfns[i] = _pfns[--Count];
                    return true;
                }
            }

            pfn = 0;
            return false;
        }

        public void DrainInto(List<ulong> pfns)
        {
            for (var i = 0; i < Count; i++)
            {
                pfns.Add(_pfns[i]);
            }

            Count = 0;
        }
    }
}
