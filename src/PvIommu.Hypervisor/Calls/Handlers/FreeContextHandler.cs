using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Hypervisor.Iommu;

namespace PvIommu.Hypervisor.Calls.Handlers;

/// <summary>
/// free_context (4), spec §3: devices back to context 0, every mapping removed with its
/// reference, the IOTLB of the context invalidated, the tables back to the arena. A large
/// context is torn down in slices: between slices it is dying (unusable) and the call continues.
/// </summary>
internal static class FreeContextHandler
{
    public static Outcome Run(CallContext call, Span<byte> argument)
    {
        var free = Free.Read(argument);
        free.Write(argument);
        if ((free.FreeFlags & ~KnownFlags.Free) != 0 || free.CtxNo == 0)
        {
            return XenErrno.EINVAL;
        }

        var iommu = call.Target.Iommu;
        var context = iommu.Context(free.CtxNo);
        var resuming = call.IsContinuation && context is { State: ContextState.Dying };
        if (context is null || (context.State != ContextState.Live && !resuming))
        {
            return XenErrno.ENOENT;
        }

        if (!resuming)
        {
            if (context.Devices.Count > 0 && (free.FreeFlags & FreeFlags.ReattachDefault) == 0)
            {
                return XenErrno.EBUSY;
            }

            if (MoveAllToDefault(call, context) is { } error)
            {
                return error;
            }

            context.State = ContextState.Dying;
        }

        return TearDown(call, context);
    }

    /// <summary>
    /// Moves every device of <paramref name="context"/> to context 0, all or nothing: when one
    /// cannot move (context 0's pool refuses a table for its reserved regions), the devices
    /// already moved go back, so the failed free changes nothing (spec §3, §6).
    /// </summary>
    private static XenErrno? MoveAllToDefault(CallContext call, IommuContext context)
    {
        var moved = new List<Platform.Pci.Sbdf>();
        foreach (var device in context.Devices.ToList())
        {
            if (call.Host.MoveDevice(device, call.Target, call.Target.Iommu.Default!) is { } error)
            {
                // Going back re-maps reserved regions with the arena pages their removal just freed.
                foreach (var back in moved)
                {
                    if (call.Host.MoveDevice(back, call.Target, context) is not null)
                    {
                        throw new InvalidOperationException($"cannot move {back} back into {context}");
                    }
                }

                return error;
            }

            moved.Add(device);
        }

        return null;
    }

    /// <summary>Unmaps leaf by leaf, checking for pending work every batch of frames.</summary>
    private static Outcome TearDown(CallContext call, IommuContext context)
    {
        ulong processed = 0;
        ulong cursor = 0;
        while (context.Table.TryNextMapped(cursor, out var dfn, out var leaf))
        {
            var frames = Platform.PageTables.PageLevel.Frames(leaf.Level);
            call.Host.UnmapFrames(context, dfn, frames, out _, call.Flushes.DeferredPuts);
            cursor = dfn + frames;
            processed += frames;
            if (processed >= (ulong)call.Batch && call.ShouldPreempt())
            {
                call.Flushes.Add(context.HardwareDomainId, 0, call.Host.MaxIovaAddress >> 12);
                return Outcome.Preempt;
            }
        }

        call.Host.DestroyContext(context);
        call.Target.Iommu.Remove(context.Number);
        return Outcome.Ok;
    }
}
