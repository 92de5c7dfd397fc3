using PvIommu.Abi;
using PvIommu.Abi.Structs;

namespace PvIommu.Guest;

/// <summary>Issuing a map plan, undoing it on failure, and reading translations back.</summary>
public sealed partial class PagingDomain
{
    /// <summary>
    /// <c>iova_to_phys</c>: lookup_page on the context (research §4.3); from the shadow table
    /// only when the hypervisor lacks the lookup capability.
    /// </summary>
    /// <inheritdoc/>
    public override int IovaToPhys(ulong iova, out ulong phys)
    {
        phys = 0;
        if (IsFreed)
        {
            return XenErrno.ENOENT.ToReturnValue();
        }

        ulong gfn;
        if (_shadow is not null)
        {
            Driver.Ops.Stats.ShadowLookups++;
            if (!_shadow.TryLookup(iova >> 12, out gfn))
            {
                return XenErrno.ENOENT.ToReturnValue();
            }
        }
        else
        {
            var op = new LookupPage { CtxNo = ContextNo, Dfn = iova >> 12 };
            var ret = Driver.Ops.Call(SubOp.LookupPage, ref op);
            if (ret != 0)
            {
                return ret;
            }

            gfn = op.Gfn;
        }

        phys = (gfn << 12) | (iova & 0xFFF);
        return 0;
    }

    private int MapChunks(List<MapChunk> chunks, MapFlags flags)
    {
        if (IsFreed)
        {
            return XenErrno.ENOENT.ToReturnValue();
        }

        if (!Driver.Has(CapFlags.DeferredFlush))
        {
            flags &= ~MapFlags.NoFlush;
        }

        var calls = new IommuOpCall[chunks.Count];
        for (var i = 0; i < chunks.Count; i++)
        {
            var c = chunks[i];
            calls[i] = Driver.Ops.Entry(SubOp.MapPages, new MapPages { CtxNo = ContextNo, Gfn = c.Gfn, Dfn = c.Dfn, MapFlags = flags, Pgsize = c.Pgsize, NrPages = c.Pages });
        }

        if (Driver.Options.BatchRuns)
        {
            Driver.Ops.Issue(calls);
        }
        else
        {
            // One trap per run, as Linux: the first error stops the loop; the calls not issued map nothing.
            foreach (var call in calls)
            {
                Driver.Ops.Issue([call]);
                if (call.Result != 0)
                {
                    break;
                }
            }
        }

        var error = 0;
        ulong mapped = 0;
        foreach (var call in calls)
        {
            error = error != 0 ? error : call.Result;
            mapped += FramesMapped(call);
        }

        if (error == 0)
        {
            Driver.Ops.Stats.FramesMapped += (long)mapped;
            foreach (var chunk in chunks)
            {
                _shadow?.Add(chunk);
            }
        }
        else
        {
            Undo(chunks, calls);
        }

        Driver.Ops.Recycle(calls);
        return error;
    }

    /// <summary>Frames a map_pages call mapped: <c>mapped</c> counts pages of its pgsize (spec §3).</summary>
    private static ulong FramesMapped(IommuOpCall call)
    {
        var op = MapPages.Read(call.Argument);
        return op.Mapped * PageSizes.FramesPerPage(op.Pgsize);
    }

    /// <summary>
    /// Unmaps exactly what each call of a failed map counted as mapped: never a frame the call
    /// did not map (a dfn that was mapped before, an RMRR frame), so the context is as it was.
    /// </summary>
    private void Undo(List<MapChunk> chunks, IommuOpCall[] calls)
    {
        var undo = new List<(IommuOpCall Call, ulong Dfn, ulong Frames)>();
        for (var i = 0; i < calls.Length; i++)
        {
            var dfn = chunks[i].Dfn;
            var frames = FramesMapped(calls[i]);
            while (frames != 0)
            {
                var n = (uint)Math.Min(frames, uint.MaxValue);
                undo.Add((UnmapEntry(dfn, n), dfn, n));
                dfn += n;
                frames -= n;
            }
        }

        IommuOpCall[] entries = [.. undo.Select(u => u.Call)];
        Driver.Ops.Issue(entries);
        foreach (var (call, dfn, frames) in undo)
        {
            var done = (ulong)UnmapPages.Read(call.Argument).Unmapped;
            Driver.Ops.Stats.FramesUndone += (long)done;
            if (call.Result != 0 || done != frames)
            {
                Driver.Ops.Stats.UndoFailures++;
            }
        }

        Driver.Ops.Recycle(entries);
    }
}
