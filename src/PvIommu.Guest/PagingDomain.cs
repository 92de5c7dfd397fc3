using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Guest.Hypercalls;

namespace PvIommu.Guest;

/// <summary>
/// A paging domain: a PV-IOMMU context of its own (alloc_context), into which the driver maps
/// gfns at device frames. Maps split into runs and superpages (<see cref="MapPlan"/>) and are
/// all or nothing: on an error the pages the hypervisor counted as mapped are unmapped again.
/// </summary>
public sealed partial class PagingDomain : IommuDomain
{
    private readonly ShadowTable? _shadow;

    internal PagingDomain(XenIommuDriver driver, ushort contextNo)
        : base(driver, contextNo)
    {
        if (!driver.Has(CapFlags.Lookup))
        {
            _shadow = new ShadowTable();
        }
    }

    /// <summary>Whether <see cref="Free"/> succeeded: the context number may belong to someone else now.</summary>
    public bool IsFreed { get; private set; }

    /// <summary>Whether iova_to_phys is answered from a shadow table (no lookup capability).</summary>
    public bool UsesShadowTable => _shadow is not null;

    private uint PlanMask => Driver.Options.UseSuperpages ? Driver.Capabilities.PgsizeMask : PageSizes.Size4K;

    /// <summary>
    /// Maps <paramref name="frames"/> contiguous guest frames from <paramref name="gfn"/> at
    /// device frame <paramref name="dfn"/>, in 2 MiB / 1 GiB pages where both are aligned.
    /// </summary>
    /// <param name="dfn">The first device frame.</param>
    /// <param name="gfn">The first guest frame.</param>
    /// <param name="frames">4 KiB frames to map.</param>
    /// <param name="flags">Readable and/or writeable, optionally cache and no_flush (dropped without the deferred-flush capability).</param>
    /// <returns>0, or the first error; then nothing of this call stays mapped.</returns>
    public int Map(ulong dfn, ulong gfn, ulong frames, MapFlags flags)
    {
        var chunks = new List<MapChunk>();
        MapPlan.AddRun(chunks, dfn, gfn, frames, PlanMask);
        return MapChunks(chunks, flags);
    }

    /// <summary>
    /// Maps one guest frame per device frame from <paramref name="dfn"/>: one map_pages call per
    /// run of contiguous gfns (and per page size inside a run), batched into one multicall when
    /// <see cref="XenIommuOptions.BatchRuns"/> is on.
    /// </summary>
    /// <param name="dfn">The first device frame.</param>
    /// <param name="gfns">The guest frame for each device frame, in order.</param>
    /// <param name="flags">Readable and/or writeable, optionally cache and no_flush.</param>
    /// <returns>0, or the first error in frame order; then nothing of this call stays mapped.</returns>
    public int Map(ulong dfn, ReadOnlySpan<ulong> gfns, MapFlags flags)
    {
        var chunks = new List<MapChunk>();
        MapPlan.AddRuns(chunks, dfn, gfns, PlanMask);
        return MapChunks(chunks, flags);
    }

    /// <summary>
    /// Maps <paramref name="gfns"/>[i] at <paramref name="dfns"/>[i], one 4 KiB page each (a
    /// page pool's bulk refill): one map_pages call per page, batched into one multicall when
    /// <see cref="XenIommuOptions.BatchRuns"/> is on.
    /// </summary>
    /// <param name="dfns">The device frame of each page.</param>
    /// <param name="gfns">The guest frame of each page.</param>
    /// <param name="flags">Readable and/or writeable, optionally cache and no_flush.</param>
    /// <returns>0, or the first error in page order; then nothing of this call stays mapped.</returns>
    public int MapEach(ReadOnlySpan<ulong> dfns, ReadOnlySpan<ulong> gfns, MapFlags flags)
    {
        if (dfns.Length != gfns.Length)
        {
            return XenErrno.EINVAL.ToReturnValue();
        }

        var chunks = new List<MapChunk>(gfns.Length);
        for (var i = 0; i < gfns.Length; i++)
        {
            chunks.Add(new MapChunk(dfns[i], gfns[i], PageSizes.Size4K, 1));
        }

        return MapChunks(chunks, flags);
    }

    /// <summary>
    /// Unmaps <paramref name="frames"/> frames from <paramref name="dfn"/> in one unmap_pages
    /// call (4 KiB granules: the hypervisor removes whole superpage leaves it covers and splits
    /// those it cuts). The IOTLB is invalidated before this returns.
    /// </summary>
    /// <param name="dfn">The first device frame.</param>
    /// <param name="frames">4 KiB frames to unmap.</param>
    /// <param name="unmapped">Frames unmapped, in order from <paramref name="dfn"/>, up to the first error.</param>
    /// <returns>0, or the hypervisor's error (-ENOENT at the first hole).</returns>
    public int Unmap(ulong dfn, ulong frames, out ulong unmapped)
    {
        unmapped = 0;
        if (IsFreed)
        {
            return XenErrno.ENOENT.ToReturnValue();
        }

        while (frames > 0)
        {
            var n = (uint)Math.Min(frames, uint.MaxValue);
            var entry = Driver.Ops.Rent();
            AddUnmap(entry, dfn, n);
            Driver.Ops.Issue(entry);
            var (ret, done) = CompleteUnmap(entry, 0, dfn);
            Driver.Ops.Return(entry);
            unmapped += done;
            if (ret != 0)
            {
                return ret;
            }

            dfn += n;
            frames -= n;
        }

        return 0;
    }

    /// <summary>
    /// flush_pages (Linux's <c>iotlb_sync_map</c>): invalidates the IOTLB for a range mapped with
    /// MAP_no_flush. Without the deferred-flush capability nothing is owed and nothing is issued.
    /// </summary>
    /// <returns>0 or the hypervisor's error.</returns>
    public int Flush(ulong dfn, ulong frames)
    {
        if (!Driver.Has(CapFlags.DeferredFlush) || frames == 0)
        {
            return 0;
        }

        var entry = Driver.Ops.Rent();
        AddFlush(entry, dfn, dfn + frames);
        Driver.Ops.Issue(entry);
        var ret = entry.ResultAt(0);
        Driver.Ops.Return(entry);
        return ret;
    }

    /// <summary>
    /// free_context with no flags: the hypervisor refuses (-EBUSY) while devices are attached.
    /// </summary>
    /// <returns>0; -ENOENT when freed already; the hypervisor's error.</returns>
    public int Free()
    {
        if (IsFreed)
        {
            return XenErrno.ENOENT.ToReturnValue();
        }

        var op = new Free { CtxNo = ContextNo, FreeFlags = FreeFlags.None };
        var ret = Driver.Ops.Call(SubOp.FreeContext, ref op);
        IsFreed = ret == 0;
        return ret;
    }

    /// <summary>Adds an unmap_pages entry of <paramref name="frames"/> 4 KiB pages to <paramref name="batch"/>; returns its index.</summary>
    internal int AddUnmap(IommuOpBatch batch, ulong dfn, uint frames) =>
        IommuOps.Add(batch, SubOp.UnmapPages, new UnmapPages { CtxNo = ContextNo, Dfn = dfn, Pgsize = PageSizes.Size4K, NrPages = frames });

    /// <summary>
    /// Reads back entry <paramref name="index"/> of an issued batch, added by <see cref="AddUnmap"/>
    /// for device frame <paramref name="dfn"/> (the struct's own dfn has advanced if the call was
    /// continued): its result and the frames it unmapped, which are recorded.
    /// </summary>
    internal (int Ret, ulong Frames) CompleteUnmap(IommuOpBatch batch, int index, ulong dfn)
    {
        var frames = (ulong)UnmapPages.Read(batch.ArgumentAt(index)).Unmapped;
        Driver.Ops.Stats.FramesUnmapped += (long)frames;
        _shadow?.Remove(dfn, frames);
        return (batch.ResultAt(index), frames);
    }

    /// <summary>
    /// Adds to <paramref name="batch"/> a flush_pages entry covering device frames
    /// [<paramref name="first"/>, <paramref name="end"/>): 4 KiB granules when the count fits the
    /// u32 field, else the smallest larger page size that makes it fit, with the range widened
    /// to that size's alignment.
    /// </summary>
    internal void AddFlush(IommuOpBatch batch, ulong first, ulong end)
    {
        foreach (var size in (ReadOnlySpan<uint>)[PageSizes.Size4K, PageSizes.Size2M, PageSizes.Size1G])
        {
            var perPage = PageSizes.FramesPerPage(size);
            var lo = first & ~(perPage - 1);
            var pages = (end - lo + perPage - 1) / perPage;
            if (pages <= uint.MaxValue && (Driver.Capabilities.PgsizeMask & size) != 0)
            {
                IommuOps.Add(batch, SubOp.FlushPages, new FlushPages { CtxNo = ContextNo, Dfn = lo, Pgsize = size, NrPages = (uint)pages });
                return;
            }
        }

        throw new InvalidOperationException($"no page size covers dfn [{first:x}, {end:x}) in one flush");
    }
}
