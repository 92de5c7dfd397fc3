using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Guest.Hypercalls;

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

        var calls = Driver.Ops.Rent();
        foreach (var c in chunks)
        {
            IommuOps.Add(calls, SubOp.MapPages, new MapPages { CtxNo = ContextNo, Gfn = c.Gfn, Dfn = c.Dfn, MapFlags = flags, Pgsize = c.Pgsize, NrPages = c.Pages });
        }

        if (Driver.Options.BatchRuns)
        {
            Driver.Ops.Issue(calls);
        }
        else
        {
            // One trap per run, as Linux: the first error stops the loop; the calls not issued map nothing.
            for (var i = 0; i < calls.Count; i++)
            {
                Driver.Ops.IssueAlone(calls, i);
                if (calls.ResultAt(i) != 0)
                {
                    break;
                }
            }
        }

        var error = 0;
        ulong mapped = 0;
        for (var i = 0; i < calls.Count; i++)
        {
            error = error != 0 ? error : calls.ResultAt(i);
            mapped += FramesMapped(calls.ArgumentAt(i));
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

        Driver.Ops.Return(calls);
        return error;
    }

    /// <summary>Frames a map_pages call mapped: <c>mapped</c> counts pages of its pgsize (spec §3).</summary>
    private static ulong FramesMapped(ReadOnlySpan<byte> argument)
    {
        var op = MapPages.Read(argument);
        return op.Mapped * PageSizes.FramesPerPage(op.Pgsize);
    }

    /// <summary>
    /// Unmaps exactly what each call of a failed map counted as mapped: never a frame the call
    /// did not map (a dfn that was mapped before, an RMRR frame), so the context is as it was.
    /// </summary>
    private void Undo(List<MapChunk> chunks, IommuOpBatch calls)
    {
        var entries = Driver.Ops.Rent();
        var owed = new List<ulong>();
        for (var i = 0; i < calls.Count; i++)
        {
            var dfn = chunks[i].Dfn;
            var frames = FramesMapped(calls.ArgumentAt(i));
            while (frames != 0)
            {
                var n = (uint)Math.Min(frames, uint.MaxValue);
                AddUnmap(entries, dfn, n);
                owed.Add(n);
                dfn += n;
                frames -= n;
            }
        }

        Driver.Ops.Issue(entries);
        for (var i = 0; i < entries.Count; i++)
        {
            var done = (ulong)UnmapPages.Read(entries.ArgumentAt(i)).Unmapped;
            Driver.Ops.Stats.FramesUndone += (long)done;
            if (entries.ResultAt(i) != 0 || done != owed[i])
            {
                Driver.Ops.Stats.UndoFailures++;
            }
        }

        Driver.Ops.Return(entries);
    }
}
