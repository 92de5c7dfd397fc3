using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Hypervisor.Iommu;
using PvIommu.Platform.PageTables;

namespace PvIommu.Hypervisor.Calls.Handlers;

/// <summary>
/// unmap_pages (7), spec §3: per frame, a reserved frame stops with -EADDRNOTAVAIL and a hole
/// with -ENOENT; a superpage cut in part is split (-ENOMEM when the arena has no page); the
/// IOTLB is always invalidated for what was unmapped before the call returns.
/// </summary>
internal static class UnmapPagesHandler
{
    public static Outcome Run(CallContext call, Span<byte> argument)
    {
        var op = UnmapPages.Read(argument);
        var result = Unmap(call, ref op);
        op.Write(argument);
        return result;
    }

    private static Outcome Unmap(CallContext call, ref UnmapPages op)
    {
        if (op.CtxNo == 0 || call.Target.Iommu.LiveContext(op.CtxNo) is not { } context)
        {
            return XenErrno.EINVAL;
        }

        if (PageRange.Check(call.Host, op.Pgsize, op.Dfn, op.NrPages, 0, out var perPage, out var frames) is { } shape)
        {
            return shape;
        }

        var reserved = context.FirstReserved(op.Dfn, frames) is { } r ? r - op.Dfn : ulong.MaxValue;
        var batch = Math.Max((ulong)call.Batch, perPage);
        ulong done = 0;
        XenErrno? error = null;
        var preempted = false;
        while (done < frames)
        {
            if (done != 0 && done % batch == 0 && call.ShouldPreempt())
            {
                preempted = true;
                break;
            }

            var step = perPage == 1 ? Math.Min(batch - (done % batch), frames - done) : perPage;
            step = WholeLeaf(context, op.Dfn + done, step, frames - done);
            if (reserved < done + step)
            {
                if (perPage == 1)
                {
                    step = reserved - done;
                }

                if (step == 0 || perPage != 1)
                {
                    error = XenErrno.EADDRNOTAVAIL;
                    break;
                }
            }

            if (perPage != 1 && !FullyMapped(context, op.Dfn + done, step))
            {
                error = XenErrno.ENOENT;
                break;
            }

            var status = call.Host.UnmapFrames(context, op.Dfn + done, step, out var n, call.Flushes.DeferredPuts);
            done += n;
            if (status != PtStatus.Ok)
            {
                error = status == PtStatus.NoMemory ? XenErrno.ENOMEM : XenErrno.ENOENT;
                break;
            }
        }

        call.Flushes.Add(context.HardwareDomainId, op.Dfn, done);
        var pages = done / perPage;
        op.Unmapped += (uint)pages;
        if (preempted)
        {
            op.Dfn += done;
            op.NrPages -= (uint)pages;
            return Outcome.Preempt;
        }

        return Outcome.From(error);
    }

    /// <summary>
    /// Stretches a step that would end inside a superpage lying wholly in the rest of the request
    /// to that superpage's end: only unmapping part of a superpage splits it (spec §3), so a
    /// superpage unmapped in smaller pages must go whole, without taking an arena page.
    /// </summary>
    /// <param name="context">The context.</param>
    /// <param name="dfn">Where the step starts.</param>
    /// <param name="step">The step's frames.</param>
    /// <param name="left">Frames left in the request from <paramref name="dfn"/>.</param>
    private static ulong WholeLeaf(IommuContext context, ulong dfn, ulong step, ulong left)
    {
        if (step == 0 || step >= left || !context.Table.TryLookup(dfn + step - 1, out var leaf) || leaf.Level == 1)
        {
            return step;
        }

        var size = PageLevel.Frames(leaf.Level);
        var leafStart = (dfn + step - 1) & ~(size - 1);
        var leafEnd = leafStart + size;
        return leafStart >= dfn && leafEnd - dfn <= left ? leafEnd - dfn : step;
    }

    /// <summary>Whether every frame of [dfn, dfn + count) is mapped, leaf by leaf.</summary>
    private static bool FullyMapped(IommuContext context, ulong dfn, ulong count)
    {
        var end = dfn + count;
        while (dfn < end)
        {
            if (!context.Table.TryLookup(dfn, out var leaf))
            {
                return false;
            }

            var size = PageLevel.Frames(leaf.Level);
            dfn = (dfn & ~(size - 1)) + size;
        }

        return true;
    }
}
