using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Hypervisor.Domains;
using PvIommu.Hypervisor.Iommu;
using PvIommu.Platform.PageTables;

namespace PvIommu.Hypervisor.Calls.Handlers;

/// <summary>alloc_context (3), spec §3.</summary>
internal static class AllocContextHandler
{
    public static Outcome Run(CallContext call, Span<byte> argument)
    {
        var alloc = Alloc.Read(argument);
        var result = Allocate(call, ref alloc);
        alloc.Write(argument);
        return result;
    }

    private static Outcome Allocate(CallContext call, ref Alloc alloc)
    {
        if ((alloc.AllocFlags & ~KnownFlags.Alloc) != 0)
        {
            return XenErrno.EINVAL;
        }

        var iommu = call.Target.Iommu;
        var number = iommu.IsInitialised ? iommu.LowestFree() : (ushort)0;
        if (number == 0)
        {
            return XenErrno.ENOSPC;
        }

        var identity = (alloc.AllocFlags & AllocFlags.Identity) != 0;
        var host = call.Host;
        if (host.TryNewContext(number, identity ? ContextKind.Identity : ContextKind.Paging, iommu.Arena!) is not { } context)
        {
            return XenErrno.ENOMEM;
        }

        if (identity && !MapIdentity(host, call.Target, context))
        {
            host.DestroyContext(context);
            return XenErrno.ENOMEM;
        }

        iommu.Install(context);
        alloc.CtxNo = number;
        return Outcome.Ok;
    }

    /// <summary>Every RAM page of the domain at dfn = gfn, with the largest leaves that fit.</summary>
    internal static bool MapIdentity(Host host, Domain domain, IommuContext context)
    {
        foreach (var (gfn, mfn, count, type) in Host.Runs(domain.P2m))
        {
            if (P2m.IsRam(type) && host.MapRam(context, gfn, mfn, count, Host.AccessOf(type), out _) != PtStatus.Ok)
            {
                return false;
            }
        }

        return true;
    }
}
