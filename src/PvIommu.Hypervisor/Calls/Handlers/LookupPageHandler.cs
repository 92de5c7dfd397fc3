using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Hypervisor.Domains;
using PvIommu.Platform.Memory;
using PvIommu.Platform.PageTables;

namespace PvIommu.Hypervisor.Calls.Handlers;

/// <summary>lookup_page (14, extension), spec §3: what a dfn maps, read from the context's table.</summary>
internal static class LookupPageHandler
{
    public static Outcome Run(CallContext call, Span<byte> argument)
    {
        var op = LookupPage.Read(argument);
        var result = Lookup(call, ref op);
        op.Write(argument);
        return result;
    }

    private static Outcome Lookup(CallContext call, ref LookupPage op)
    {
        var iommu = call.Target.Iommu;
        var context = op.CtxNo == 0 ? iommu.Default : iommu.LiveContext(op.CtxNo);
        if (context is null)
        {
            return XenErrno.EINVAL;
        }

        if (!context.IsLookupable)
        {
            return XenErrno.EOPNOTSUPP;
        }

        if (op.Dfn > call.Host.MaxIovaAddress >> 12)
        {
            return XenErrno.ERANGE;
        }

        if (!context.Table.TryLookup(op.Dfn, out var leaf))
        {
            return XenErrno.ENOENT;
        }

        op.Gfn = GfnOf(call.Host, call.Target, leaf.Mfn);
        op.MapFlags = ((leaf.Access & PteAccess.Read) != 0 ? MapFlags.Readable : 0)
            | ((leaf.Access & PteAccess.Write) != 0 ? MapFlags.Writeable : 0)
            | ((leaf.Access & PteAccess.Cache) != 0 ? MapFlags.Cache : 0);
        op.Pgsize = (uint)PageLevel.Bytes(leaf.Level);
        return Outcome.Ok;
    }

    /// <summary>
    /// The gfn of a machine frame as the domain sees it. PV: the frame itself (gfn = mfn for its
    /// own RAM, foreign frames and MMIO alike). PVH: the M2P for its own RAM, the configured MMIO
    /// window, the p2m entry of a foreign frame, else the frame itself (reserved regions are 1:1).
    /// </summary>
    /// <remarks>
    /// The M2P names the owner's gfn, which is the domain's own only when the domain owns the
    /// frame: a foreign frame (mapped by the hardware domain, possibly for a remote_cmd target)
    /// must read back at the gfn it was mapped from, not at its owner's gfn.
    /// </remarks>
    private static ulong GfnOf(Host host, Domain domain, ulong mfn)
    {
        if (domain.Kind == DomainKind.Pv)
        {
            return mfn;
        }

        var frame = new Mfn(mfn);
        if (host.Frames.OwnerOf(frame) == domain.Id && host.Frames.TryGetGfn(frame, out var gfn))
        {
            return gfn;
        }

        foreach (var (first, frames, mmioGfn) in domain.Config.Mmio)
        {
            if (mfn >= first && mfn - first < frames)
            {
                return mmioGfn + (mfn - first);
            }
        }

        foreach (var (foreignGfn, entry) in domain.P2m.Entries())
        {
            if (entry.Type == P2mType.Foreign && entry.Mfn == frame)
            {
                return foreignGfn;
            }
        }

        return mfn;
    }
}
