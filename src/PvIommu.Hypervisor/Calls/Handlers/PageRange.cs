using PvIommu.Abi;

namespace PvIommu.Hypervisor.Calls.Handlers;

/// <summary>The shape checks map, unmap and flush share (spec §3 map_pages, first bullet).</summary>
internal static class PageRange
{
    /// <summary>
    /// Checks <paramref name="pgsize"/> against the host's <c>pgsize_mask</c>, the alignment of every
    /// frame number given, and that the range fits under max_iova_addr without overflow.
    /// </summary>
    /// <returns>-EINVAL, -ERANGE, or null with the frames per page and the range's frames.</returns>
    public static XenErrno? Check(Host host, uint pgsize, ulong dfn, uint nrPages, ulong gfn, out ulong framesPerPage, out ulong frames)
    {
        frames = 0;
        framesPerPage = 0;
        if (!PageSizes.IsSupported(pgsize) || (pgsize & host.PgsizeMask) == 0)
        {
            return XenErrno.EINVAL;
        }

        framesPerPage = PageSizes.FramesPerPage(pgsize);
        if (((dfn | gfn) & (framesPerPage - 1)) != 0)
        {
            return XenErrno.EINVAL;
        }

        frames = nrPages * framesPerPage;
        var maxDfn = host.MaxIovaAddress >> 12;
        if (dfn > maxDfn || (frames > 0 && frames - 1 > maxDfn - dfn) || gfn > ulong.MaxValue - frames)
        {
            return XenErrno.ERANGE;
        }

        return null;
    }
}
