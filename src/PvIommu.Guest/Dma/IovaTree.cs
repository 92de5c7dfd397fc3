namespace PvIommu.Guest.Dma;

/// <summary>
/// The free IOVA space of a domain as maximal free extents (neighbours always merged), in an
/// <see cref="IntervalTreap"/>. Allocation is top-down below a limit, size-aligned, as Linux's
/// <c>alloc_iova</c>; unlike its rbtree of allocated ranges, free space is what is indexed,
/// so a request that cannot fit is refused in one step.
/// </summary>
internal sealed class IovaTree
{
    private readonly IntervalTreap _free = new();

    /// <summary>All of [<paramref name="first"/>, <paramref name="end"/>) free.</summary>
    public IovaTree(ulong first, ulong end)
    {
        if (end > first)
        {
            _free.Insert(first, end);
        }
    }

    /// <summary>Free frames.</summary>
    public ulong FreePages => _free.TotalLength;

    /// <summary>Free extents (1 when the space is in one piece).</summary>
    public int Extents => _free.Count;

    /// <summary>The largest free extent.</summary>
    public ulong LargestExtent => _free.MaxLength;

    /// <summary>The free extents, lowest first.</summary>
    public List<(ulong Start, ulong End)> FreeExtents() => _free.ToList();

    /// <summary>The highest <paramref name="pages"/>-frame block below <paramref name="limit"/> aligned to <paramref name="alignment"/>.</summary>
    public bool TryAllocate(ulong pages, ulong alignment, ulong limit, out ulong pfn)
    {
        if (!_free.TryFindTopDown(pages, alignment, limit, out pfn))
        {
            return false;
        }

        _free.TryFloor(pfn, out var start, out var end);
        _free.Remove(start);
        if (start < pfn)
        {
            _free.Insert(start, pfn);
        }

        if (pfn + pages < end)
        {
            _free.Insert(pfn + pages, end);
        }

        return true;
    }

    /// <summary>Returns a block, merging it with free neighbours.</summary>
    /// <exception cref="InvalidOperationException">part of it is free already (a double free: a bug of the driver).</exception>
    public void Free(ulong pfn, ulong pages)
    {
        var start = pfn;
        var end = pfn + pages;
        if (_free.TryFloor(pfn, out var s, out var e))
        {
            ThrowIf(e > pfn, pfn, pages);
            if (e == pfn)
            {
                _free.Remove(s);
                start = s;
            }
        }

        if (_free.TryCeiling(pfn, out s, out e))
        {
            ThrowIf(s < pfn + pages, pfn, pages);
            if (s == pfn + pages)
            {
                _free.Remove(s);
                end = e;
            }
        }

        _free.Insert(start, end);
    }

    /// <summary>Takes [<paramref name="pfn"/>, +<paramref name="pages"/>) out of the free space, whatever part of it is free.</summary>
    /// <returns>Frames taken.</returns>
    public ulong Reserve(ulong pfn, ulong pages)
    {
        var end = pfn + pages;
        var overlapping = new List<(ulong Start, ulong End)>();
        if (_free.TryFloor(pfn, out var s, out var e) && e > pfn)
        {
            overlapping.Add((s, e));
        }

        var cursor = pfn;
        while (_free.TryCeiling(cursor, out s, out e) && s < end)
        {
            // The floor found above may come again here when it starts at pfn: Distinct drops it.
            overlapping.Add((s, e));
            cursor = e;
        }

        ulong taken = 0;
        foreach (var (start, stop) in overlapping.Distinct())
        {
            _free.Remove(start);
            if (start < pfn)
            {
                _free.Insert(start, pfn);
            }

            if (stop > end)
            {
                _free.Insert(end, stop);
            }

            taken += Math.Min(stop, end) - Math.Max(start, pfn);
        }

        return taken;
    }

    private static void ThrowIf(bool overlap, ulong pfn, ulong pages)
    {
        if (overlap)
        {
            throw new InvalidOperationException($"IOVA [{pfn:x}, +{pages:x}) is partly free already: a double free");
        }
    }
}
