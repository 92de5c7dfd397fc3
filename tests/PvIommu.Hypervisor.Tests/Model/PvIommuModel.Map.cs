using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Platform.PageTables;

namespace PvIommu.Hypervisor.Tests.Model;

/// <summary>map_pages, unmap_pages, lookup_page and flush_pages of the model (spec §3).</summary>
internal sealed partial class PvIommuModel
{
    /// <summary>
    /// map_pages: shape checks, then frame by frame in order — reserved, not backed, in use, no
    /// table page — writing machine-contiguous runs with the largest leaves that fit. A page the
    /// error cut in two is undone; <c>mapped</c> counts the whole pages that stay.
    /// </summary>
    public XenErrno? Map(ModelDomain d, ref MapPages op)
    {
        if (op.CtxNo == 0 || d.Contexts.GetValueOrDefault(op.CtxNo) is not { } context)
        {
            return XenErrno.EINVAL;
        }

        if (Shape(op.Pgsize, op.Dfn, op.NrPages, op.Gfn, out var perPage, out var frames) is { } shape)
        {
            return shape;
        }

        if ((op.MapFlags & ~KnownFlags.Map) != 0 || (op.MapFlags & (MapFlags.Readable | MapFlags.Writeable)) == 0)
        {
            return XenErrno.EINVAL;
        }

        var access = ((op.MapFlags & MapFlags.Readable) != 0 ? PteAccess.Read : 0)
            | ((op.MapFlags & MapFlags.Writeable) != 0 ? PteAccess.Write : 0)
            | ((op.MapFlags & MapFlags.Cache) != 0 ? PteAccess.Cache : 0);
        var reserved = FirstReservedIndex(context, op.Dfn, frames);
        var free = d.ArenaFree;
        ulong i = 0;
        ulong done = 0;
        XenErrno? error = null;
        while (i < frames)
        {
            if (Check(d, reserved, op.Gfn, i, out var mfn, out var ram) is { } frameError)
            {
                error = frameError;
                break;
            }

            var j = i + 1;
            while (j < frames && Check(d, reserved, op.Gfn, j, out var next, out var nextRam) is null && next == mfn + (j - i) && nextRam == ram)
            {
                j++;
            }

            var (status, n) = context.Table.MapRun(op.Dfn + i, mfn, op.Gfn + i, j - i, access, ref free);
            done = i + n;
            if (status != PtStatus.Ok)
            {
                error = status == PtStatus.NoMemory ? XenErrno.ENOMEM : XenErrno.EADDRINUSE;
                break;
            }

            i = j;
        }

        var pages = done / perPage;
        var partial = done - (pages * perPage);
        if (partial != 0)
        {
            var unlimited = int.MaxValue;
            context.Table.UnmapRange(op.Dfn + (pages * perPage), partial, ref unlimited);
        }

        op.Mapped += (uint)pages;
        return error;
    }

    /// <summary>
    /// unmap_pages: per frame, reserved then not mapped; a superpage the call covers only in
    /// part is split first (an arena page). 2 MiB pages go one at a time, each whole or not at all.
    /// </summary>
    public XenErrno? Unmap(ModelDomain d, ref UnmapPages op)
    {
        if (op.CtxNo == 0 || d.Contexts.GetValueOrDefault(op.CtxNo) is not { } context)
        {
            return XenErrno.EINVAL;
        }

        if (Shape(op.Pgsize, op.Dfn, op.NrPages, 0, out var perPage, out var frames) is { } shape)
        {
            return shape;
        }

        var reserved = FirstReservedIndex(context, op.Dfn, frames);
        var free = d.ArenaFree;
        XenErrno? error = null;
        ulong done = 0;
        if (perPage == 1)
        {
            var limit = Math.Min(reserved, frames);
            var (status, n) = context.Table.UnmapRange(op.Dfn, limit, ref free);
            done = n;
            error = status switch
            {
                PtStatus.Ok => limit < frames ? XenErrno.EADDRNOTAVAIL : null,
                PtStatus.NoMemory => XenErrno.ENOMEM,
                _ => XenErrno.ENOENT,
            };
        }
        else
        {
            for (; done < frames; done += perPage)
            {
                if (reserved < done + perPage)
                {
                    error = XenErrno.EADDRNOTAVAIL;
                    break;
                }

                var p = op.Dfn + done;
                if (!FullyMapped(context.Table, p, perPage))
                {
                    error = XenErrno.ENOENT;
                    break;
                }

                if (context.Table.UnmapRange(p, perPage, ref free).Status != PtStatus.Ok)
                {
                    error = XenErrno.ENOMEM;
                    break;
                }
            }
        }

        op.Unmapped += (uint)(done / perPage);
        return error;
    }

    /// <summary>lookup_page: context 0 too unless opaque (PVH).</summary>
    public XenErrno? Lookup(ModelDomain d, ref LookupPage op)
    {
        if (d.Context(op.CtxNo) is not { } context)
        {
            return XenErrno.EINVAL;
        }

        if (op.CtxNo == 0 && !d.IsPv)
        {
            return XenErrno.EOPNOTSUPP;
        }

        if (op.Dfn > MaxDfn)
        {
            return XenErrno.ERANGE;
        }

        if (!context.Table.TryFind(op.Dfn, out var first, out var leaf))
        {
            return XenErrno.ENOENT;
        }

        op.Gfn = leaf.Gfn + (op.Dfn - first);
        op.MapFlags = ((leaf.Access & PteAccess.Read) != 0 ? MapFlags.Readable : 0)
            | ((leaf.Access & PteAccess.Write) != 0 ? MapFlags.Writeable : 0)
            | ((leaf.Access & PteAccess.Cache) != 0 ? MapFlags.Cache : 0);
        op.Pgsize = (uint)PageLevel.Bytes(leaf.Level);
        return null;
    }

    /// <summary>flush_pages: the shape checks only.</summary>
    public XenErrno? Flush(ModelDomain d, FlushPages op) =>
        op.CtxNo == 0 || !d.Contexts.ContainsKey(op.CtxNo) ? XenErrno.EINVAL : Shape(op.Pgsize, op.Dfn, op.NrPages, 0, out _, out _);

    /// <summary>The shape checks of spec §3 map_pages' first bullet.</summary>
    private XenErrno? Shape(uint pgsize, ulong dfn, uint nrPages, ulong gfn, out ulong perPage, out ulong frames)
    {
        perPage = 0;
        frames = 0;
        if (pgsize is not (PageSizes.Size4K or PageSizes.Size2M or PageSizes.Size1G))
        {
            return XenErrno.EINVAL;
        }

        perPage = pgsize / PageSizes.Size4K;
        if (dfn % perPage != 0 || gfn % perPage != 0)
        {
            return XenErrno.EINVAL;
        }

        frames = nrPages * perPage;
        var last = frames == 0 ? dfn : dfn + frames - 1;
        return dfn > MaxDfn || last > MaxDfn || last < dfn || gfn > ulong.MaxValue - frames ? XenErrno.ERANGE : null;
    }

    /// <summary>The per-frame checks that need no table: reserved, then backed (RAM with a reference, or MMIO).</summary>
    private static XenErrno? Check(ModelDomain d, ulong reserved, ulong gfn, ulong i, out ulong mfn, out bool ram)
    {
        mfn = 0;
        ram = false;
        if (i == reserved)
        {
            return XenErrno.EADDRNOTAVAIL;
        }

        if (d.Ram.TryGetValue(gfn + i, out mfn))
        {
            ram = true;
            return null;
        }

        return d.Mmio.TryGetValue(gfn + i, out mfn) ? null : XenErrno.ENOENT;
    }

    private static bool FullyMapped(ModelTable table, ulong dfn, ulong count)
    {
        for (ulong k = 0; k < count; k++)
        {
            if (!table.IsMapped(dfn + k))
            {
                return false;
            }
        }

        return true;
    }
}
