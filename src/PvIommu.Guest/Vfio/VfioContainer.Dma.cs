using PvIommu.Abi;

namespace PvIommu.Guest.Vfio;

/// <summary>MAP_DMA, UNMAP_DMA and release.</summary>
public sealed partial class VfioContainer
{
    /// <summary>
    /// <c>VFIO_IOMMU_MAP_DMA</c>: pins the user's pages <paramref name="gfns"/> and maps them at
    /// <paramref name="iova"/> (size = pages × 4 KiB).
    /// </summary>
    /// <returns>
    /// 0; -EINVAL for an unaligned or empty request, no access, or a range outside
    /// <see cref="IovaRanges"/>; -EADDRINUSE when part is mapped; -ENOSPC at the mapping limit;
    /// -ENOMEM past the locked-pages limit; the hypervisor's error (nothing stays mapped or pinned).
    /// </returns>
    public int MapDma(ulong iova, ReadOnlySpan<ulong> gfns, VfioDmaFlags flags)
    {
        if (IsReleased)
        {
            return XenErrno.ENODEV.ToReturnValue();
        }

        var pages = (ulong)gfns.Length;
        var pfn = iova >> 12;
        if (pages == 0 || (iova & 0xFFF) != 0 || (flags & (VfioDmaFlags.Read | VfioDmaFlags.Write)) == 0
            || (flags & ~(VfioDmaFlags.Read | VfioDmaFlags.Write)) != 0 || pfn > ulong.MaxValue - pages)
        {
            return XenErrno.EINVAL.ToReturnValue();
        }

        if (Overlaps(pfn, pfn + pages))
        {
            return XenErrno.EADDRINUSE.ToReturnValue();
        }

        if (DmaAvailable <= 0)
        {
            return XenErrno.ENOSPC.ToReturnValue();
        }

        if (!IovaRanges().Any(r => r.Contains(iova, pages << 12)))
        {
            return XenErrno.EINVAL.ToReturnValue();
        }

        if (pages > Options.LockedPagesLimit - LockedPages)
        {
            return XenErrno.ENOMEM.ToReturnValue();
        }

        var owned = gfns.ToArray();
        Pin(owned);
        var prot = ((flags & VfioDmaFlags.Read) != 0 ? MapFlags.Readable : 0)
            | ((flags & VfioDmaFlags.Write) != 0 ? MapFlags.Writeable : 0)
            | (Driver.Has(CapFlags.Cache) ? MapFlags.Cache : 0);
        var ret = Domain.Map(pfn, owned, prot);
        if (ret != 0)
        {
            Unpin(owned);
            return ret;
        }

        _ranges.Insert(pfn, pfn + pages);
        _mappings.Add(pfn, new UserMapping(pfn, owned));
        return 0;
    }

    /// <summary>
    /// <c>VFIO_IOMMU_UNMAP_DMA</c>: unmaps and unpins every mapping inside
    /// [<paramref name="iova"/>, +<paramref name="size"/>). A range that would cut a mapping in
    /// two is refused whole (type1 v2); a range with no mapping unmaps nothing and succeeds.
    /// </summary>
    /// <param name="iova">First byte (page-aligned).</param>
    /// <param name="size">Bytes (page-aligned, not zero).</param>
    /// <param name="unmappedBytes">Bytes unmapped.</param>
    /// <returns>0; -EINVAL for a bad range or one that splits a mapping; the hypervisor's first error.</returns>
    public int UnmapDma(ulong iova, ulong size, out ulong unmappedBytes)
    {
        unmappedBytes = 0;
        if (IsReleased)
        {
            return XenErrno.ENODEV.ToReturnValue();
        }

        if (size == 0 || ((iova | size) & 0xFFF) != 0 || iova > ulong.MaxValue - size)
        {
            return XenErrno.EINVAL.ToReturnValue();
        }

        var first = iova >> 12;
        var end = first + (size >> 12);
        if ((_ranges.TryFloor(first, out var s, out var e) && s < first && e > first)
            || (_ranges.TryFloor(end - 1, out s, out e) && e > end))
        {
            return XenErrno.EINVAL.ToReturnValue();
        }

        var victims = new List<UserMapping>();
        for (var cursor = first; _ranges.TryCeiling(cursor, out s, out e) && s < end; cursor = e)
        {
            victims.Add(_mappings[s]);
        }

        return Unmap(victims, out unmappedBytes);
    }

    /// <summary><c>VFIO_DMA_UNMAP_FLAG_ALL</c>: unmaps every mapping.</summary>
    /// <returns>0 or the hypervisor's first error.</returns>
    public int UnmapAll(out ulong unmappedBytes) => Unmap([.. _mappings.Values], out unmappedBytes);

    /// <summary>
    /// Closes the container: every mapping unmapped and unpinned, the device back in context 0,
    /// its context freed.
    /// </summary>
    /// <returns>0 or the first error.</returns>
    public int Release()
    {
        if (IsReleased)
        {
            return 0;
        }

        var first = UnmapAll(out _);
        var released = Driver.Release(Device);
        first = first != 0 ? first : released;
        if (released == 0)
        {
            var freed = Domain.Free();
            first = first != 0 ? first : freed;
        }

        IsReleased = true;
        return first;
    }

    private bool Overlaps(ulong first, ulong end) =>
        (_ranges.TryFloor(first, out _, out var e) && e > first)
        || (_ranges.TryCeiling(first, out var s, out _) && s < end);

    /// <summary>Unmaps <paramref name="victims"/> in one batch (one trap); those the hypervisor refused stay recorded.</summary>
    private int Unmap(List<UserMapping> victims, out ulong unmappedBytes)
    {
        unmappedBytes = 0;
        var calls = Driver.Ops.Rent();
        foreach (var v in victims)
        {
            Domain.AddUnmap(calls, v.Pfn, (uint)v.Gfns.Length);
        }

        Driver.Ops.Issue(calls);
        var error = 0;
        for (var i = 0; i < victims.Count; i++)
        {
            var v = victims[i];
            var (ret, frames) = Domain.CompleteUnmap(calls, i, v.Pfn);
            unmappedBytes += frames << 12;
            if (ret != 0)
            {
                error = error != 0 ? error : ret;
                continue;
            }

            _ranges.Remove(v.Pfn);
            _mappings.Remove(v.Pfn);
            Unpin(v.Gfns);
        }

        Driver.Ops.Return(calls);
        return error;
    }

    private void Pin(ulong[] gfns)
    {
        foreach (var gfn in gfns)
        {
            _pins[gfn] = _pins.GetValueOrDefault(gfn) + 1;
        }

        LockedPages += (ulong)gfns.Length;
    }

    private void Unpin(ulong[] gfns)
    {
        foreach (var gfn in gfns)
        {
            if (--_pins[gfn] == 0)
            {
                _pins.Remove(gfn);
            }
        }

        LockedPages -= (ulong)gfns.Length;
    }
}
