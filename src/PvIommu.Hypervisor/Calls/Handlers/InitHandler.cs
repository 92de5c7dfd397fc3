using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Platform.PageTables;

namespace PvIommu.Hypervisor.Calls.Handlers;

/// <summary>init (2), spec §3: one-shot limits and the arena, reserved whole from the host heap.</summary>
internal static class InitHandler
{
    public const uint MaxContextNumber = 65534;
    public const uint MaxArenaOrder = 20;

    public static Outcome Run(CallContext call, Span<byte> argument)
    {
        var init = Init.Read(argument);
        var iommu = call.Target.Iommu;
        if (iommu.IsInitialised)
        {
            return XenErrno.EACCES;
        }

        if (init.MaxCtxNo is < 1 or > MaxContextNumber || init.ArenaOrder > MaxArenaOrder)
        {
            return XenErrno.E2BIG;
        }

        var pages = 1UL << (int)init.ArenaOrder;
        if (!call.Host.Heap.TryAllocateContiguous(pages, 1, out var first))
        {
            return XenErrno.ENOMEM;
        }

        iommu.Initialise((ushort)init.MaxCtxNo, new TablePool(call.Host.Machine.Memory, first, (int)pages), (int)init.ArenaOrder);
        return Outcome.Ok;
    }
}
