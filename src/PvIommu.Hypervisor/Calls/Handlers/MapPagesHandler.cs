using System.Runtime.CompilerServices;
using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Hypervisor.Domains;
using PvIommu.Hypervisor.Iommu;
using PvIommu.Hypervisor.Memory;
using PvIommu.Platform.Memory;
using PvIommu.Platform.PageTables;

namespace PvIommu.Hypervisor.Calls.Handlers;

/// <summary>
/// map_pages (6), spec §3. Frames are checked one by one in order; checked frames gather into
/// machine-contiguous runs that go to the page-table engine whole (so it can use 2 MiB and
/// 1 GiB leaves), and a run is written when it breaks, at an error, at a preemption point or
/// at the end. A preemption point never cuts a run that could still fill a 2 MiB leaf, so a
/// preempted call still gets 2 MiB leaves and needs no more arena pages for them (a 1 GiB
/// leaf spans 262,144 frames, far more than a slice: a preempted call maps it as 2 MiB leaves).
/// A host without superpages (<see cref="HostOptions.Superpages"/>) writes 4 KiB leaves only,
/// so there is no leaf to keep whole and a slice ends at its batch. Every RAM frame mapped
/// holds one page reference.
/// </summary>
internal static class MapPagesHandler
{
    public static Outcome Run(CallContext call, Span<byte> argument)
    {
        var op = MapPages.Read(argument);
        var result = Map(call, ref op);
        op.Write(argument);
        return result;
    }

    private static Outcome Map(CallContext call, ref MapPages op)
    {
        if (op.CtxNo == 0 || call.Target.Iommu.LiveContext(op.CtxNo) is not { } context)
        {
            return XenErrno.EINVAL;
        }

        if (PageRange.Check(call.Host, op.Pgsize, op.Dfn, op.NrPages, op.Gfn, out var perPage, out var frames) is { } shape)
        {
            return shape;
        }

        if ((op.MapFlags & ~KnownFlags.Map) != 0 || (op.MapFlags & (MapFlags.Readable | MapFlags.Writeable)) == 0)
        {
            return XenErrno.EINVAL;
        }

        if (frames == 0)
        {
            return Outcome.Ok;
        }

        var access = ((op.MapFlags & MapFlags.Readable) != 0 ? PteAccess.Read : 0)
            | ((op.MapFlags & MapFlags.Writeable) != 0 ? PteAccess.Write : 0)
            | ((op.MapFlags & MapFlags.Cache) != 0 ? PteAccess.Cache : 0);
        var mapper = new RunMapper(call, context, op.Dfn, op.Gfn, access);
        var stop = mapper.Run(frames, perPage, out var done, out var preempted);

        // Whole pages only count; a page the error cut in two is undone, so the caller can undo exactly what `mapped` says.
        var pages = done / perPage;
        var partial = done - (pages * perPage);
        if (partial != 0)
        {
            call.Host.UnmapFrames(context, op.Dfn + (pages * perPage), partial, out _, call.Flushes.DeferredPuts);
            call.Flushes.Add(context.HardwareDomainId, op.Dfn + (pages * perPage), partial);
        }

        if ((op.MapFlags & MapFlags.NoFlush) == 0)
        {
            call.Flushes.Add(context.HardwareDomainId, op.Dfn, done);
        }

        op.Mapped += (uint)pages;
        if (preempted)
        {
            op.Gfn += pages * perPage;
            op.Dfn += pages * perPage;
            op.NrPages -= (uint)pages;
            return Outcome.Preempt;
        }

        return Outcome.From(stop);
    }

    /// <summary>Checks frames and writes them in machine-contiguous runs.</summary>
    private struct RunMapper(CallContext call, IommuContext context, ulong dfn, ulong gfn, PteAccess access)
    {
        private readonly FrameTable _frames = call.Host.Frames;
        private readonly P2m _p2m = call.Target.P2m;
        private readonly bool _privileged = call.Caller.IsHardwareDomain;
        private readonly int _maxLeafLevel = call.Host.MaxLeafLevel;
        private ulong _mappedUpTo;
        private ulong _runStart;
        private ulong _runMfn;
        private ulong _runCount;
        private FrameRefs _runRefs;

        /// <summary>
        /// Maps up to <paramref name="frames"/> frames; <paramref name="done"/> is how many are
        /// mapped (all before the first failure). Preempts only at page boundaries.
        /// </summary>
        public XenErrno? Run(ulong frames, ulong perPage, out ulong done, out bool preempted)
        {
            preempted = false;
            var reserved = context.FirstReserved(dfn, frames) is { } r ? r - dfn : ulong.MaxValue;
            var batch = Math.Max((ulong)call.Batch, perPage);
            XenErrno? error = null;
            ulong lastCheck = 0;
            for (ulong i = 0; i < frames; i++)
            {
                // A batch after the last check, at a page boundary that does not cut a superpage
                // the current run could still fill (spec §3: the largest PTE that fits, preempted
                // or not; at most 511 frames later).
                if (i - lastCheck >= batch && i % perPage == 0 && !CutsSuperpage(i))
                {
                    lastCheck = i;
                    if (call.ShouldPreempt())
                    {
                        preempted = true;
                        break;
                    }
                }

                if (i == reserved)
                {
                    error = XenErrno.EADDRNOTAVAIL;
                    break;
                }

                if (Check(gfn + i, out var mfn, out var refs) is { } frameError)
                {
                    error = frameError;
                    break;
                }

                if (_runCount != 0 && (mfn != _runMfn + _runCount || refs != _runRefs) && Flush() is { } flushError)
                {
                    if (refs == FrameRefs.Taken)
                    {
                        _frames.PutRef(new Mfn(mfn));
                    }

                    done = _mappedUpTo;
                    return flushError;
                }

                if (_runCount == 0)
                {
                    (_runStart, _runMfn, _runRefs) = (i, mfn, refs);
                }

                _runCount++;
            }

            if (Flush() is { } lastError)
            {
                preempted = false;
                error = lastError;
            }

            done = _mappedUpTo;
            return error;
        }

        /// <summary>
        /// Whether stopping before frame <paramref name="i"/> would cut a 2 MiB leaf: the host
        /// writes superpages, the pending run has dfn and mfn aligned alike and dfn + i is not
        /// on a 2 MiB boundary.
        /// </summary>
        private readonly bool CutsSuperpage(ulong i)
        {
            const ulong Mask = PageLevel.Entries - 1;
            return _maxLeafLevel > 1 && _runCount != 0 && ((dfn + i) & Mask) != 0 && (((dfn + _runStart) ^ _runMfn) & Mask) == 0;
        }

        /// <summary>The checks of spec §3 for one frame; says how its reference is had when it is RAM.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private readonly XenErrno? Check(ulong frameGfn, out ulong mfn, out FrameRefs refs)
        {
            var entry = _p2m.Lookup(frameGfn);
            mfn = entry.Mfn.Value;
            refs = FrameRefs.None;
            switch (entry.Type)
            {
                case P2mType.Invalid:
                    return XenErrno.ENOENT;
                case P2mType.Mmio:
                    return null;
                case P2mType.Foreign when !_privileged:
                    return XenErrno.EPERM;
                case P2mType.RamReadOnly when (access & PteAccess.Write) != 0:
                    return XenErrno.EPERM;
            }

            if (entry.Type != P2mType.Foreign)
            {
                // The domain's own RAM: its p2m entry holds the allocation reference, and the
                // domain lock held here keeps it, so the run's flush takes the references of
                // all its frames at once, before their entries are written.
                refs = FrameRefs.Owed;
                return null;
            }

            // Another domain's frame may be freed meanwhile: take the reference only if it is live.
            refs = FrameRefs.Taken;
            return _frames.TryGetRef(entry.Mfn) ? null : XenErrno.ENOENT;
        }

        /// <summary>Writes the pending run; on failure drops the references of the frames not mapped.</summary>
        private XenErrno? Flush()
        {
            if (_runCount == 0)
            {
                return null;
            }

            if (_runRefs == FrameRefs.Owed)
            {
                _frames.GetRefsHeld(new Mfn(_runMfn), _runCount);
            }

            var status = context.Table.Map(dfn + _runStart, _runMfn, _runCount, access, _maxLeafLevel, out var mapped);
            if (status != PtStatus.Ok && _runRefs != FrameRefs.None)
            {
                for (var k = mapped; k < _runCount; k++)
                {
                    _frames.PutRef(new Mfn(_runMfn + k));
                }
            }

            _mappedUpTo = _runStart + mapped;
            _runCount = 0;
            return status switch
            {
                PtStatus.Ok => null,
                PtStatus.NoMemory => XenErrno.ENOMEM,
                _ => XenErrno.EADDRINUSE,
            };
        }
    }

    /// <summary>How a checked frame's page reference is had.</summary>
    private enum FrameRefs : byte
    {
        /// <summary>MMIO: no reference.</summary>
        None,

        /// <summary>Another domain's frame: taken by the check, so a frame freed meanwhile is refused.</summary>
        Taken,

        /// <summary>The domain's own RAM: taken for the whole run when it is flushed.</summary>
        Owed,
    }
}
