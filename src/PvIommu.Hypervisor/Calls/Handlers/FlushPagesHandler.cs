using PvIommu.Abi;
using PvIommu.Abi.Structs;

namespace PvIommu.Hypervisor.Calls.Handlers;

/// <summary>flush_pages (13, extension), spec §3: the deferred invalidation of a range.</summary>
internal static class FlushPagesHandler
{
    public static Outcome Run(CallContext call, Span<byte> argument)
    {
        var op = FlushPages.Read(argument);
        op.Write(argument);
        if (op.CtxNo == 0 || call.Target.Iommu.LiveContext(op.CtxNo) is not { } context)
        {
            return XenErrno.EINVAL;
        }

        if (PageRange.Check(call.Host, op.Pgsize, op.Dfn, op.NrPages, 0, out _, out var frames) is { } error)
        {
            return error;
        }

        call.Flushes.Add(context.HardwareDomainId, op.Dfn, frames);
        return Outcome.Ok;
    }
}
