namespace PvIommu.Abi;

/// <summary>
/// The Xen errno values PV-IOMMU returns (Xen's <c>public/errno.h</c>; for these codes they equal
/// Linux x86's). Values are positive; a hypercall returns <c>-errno</c> (spec §1). This set is
/// closed: everything a guest can cause maps to one of these (style habit 7).
/// </summary>
public enum XenErrno
{
    /// <summary>1: operation not permitted (caller lacks the right, foreign or read-only page).</summary>
    EPERM = 1,

    /// <summary>2: no such entry (context not allocated, gfn not backed, dfn not mapped, no such domain).</summary>
    ENOENT = 2,

    /// <summary>5: I/O error (a DMA fault over the wire protocol).</summary>
    EIO = 5,

    /// <summary>7: argument list too long (an init limit out of range).</summary>
    E2BIG = 7,

    /// <summary>12: out of memory (host or arena exhausted).</summary>
    ENOMEM = 12,

    /// <summary>13: permission denied (init called twice).</summary>
    EACCES = 13,

    /// <summary>14: bad address (the argument could not be copied in or back).</summary>
    EFAULT = 14,

    /// <summary>16: busy (free of a context that still has devices).</summary>
    EBUSY = 16,

    /// <summary>19: no such device (no IOMMU, PV-IOMMU not allowed, device not assigned).</summary>
    ENODEV = 19,

    /// <summary>22: invalid argument (context 0, unknown flag, bad page size or alignment).</summary>
    EINVAL = 22,

    /// <summary>28: no space left (no free context number).</summary>
    ENOSPC = 28,

    /// <summary>34: result out of range (a range above <c>max_iova_addr</c>).</summary>
    ERANGE = 34,

    /// <summary>38: function not implemented (hypercall absent).</summary>
    ENOSYS = 38,

    /// <summary>85: restart the call (internal to the hypervisor; a guest never sees it, spec §4).</summary>
    ERESTART = 85,

    /// <summary>95: operation not supported (unknown or unimplemented sub-op).</summary>
    EOPNOTSUPP = 95,

    /// <summary>98: address in use (dfn already mapped).</summary>
    EADDRINUSE = 98,

    /// <summary>99: address not available (a reserved region of the context).</summary>
    EADDRNOTAVAIL = 99,

    /// <summary>105: no buffer space available.</summary>
    ENOBUFS = 105,
}
