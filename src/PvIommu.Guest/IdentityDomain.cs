using PvIommu.Abi;
using PvIommu.Abi.Structs;

namespace PvIommu.Guest;

/// <summary>
/// The static identity domain: context 0, which Xen manages (spec §5). Attaching a device to it
/// reattaches the device to context 0. Nothing can be mapped into it.
/// </summary>
public sealed class IdentityDomain : IommuDomain
{
    internal IdentityDomain(XenIommuDriver driver)
        : base(driver, ContextNumbers.DefaultContext)
    {
    }

    /// <summary>
    /// Whether devices here reach the domain's memory at dma address = guest address: the
    /// default_identity capability, or fallback mode, where context 0 is all there is.
    /// </summary>
    public bool IsDirect => !Driver.IsAvailable || Driver.Has(CapFlags.DefaultIdentity);

    /// <summary>
    /// Through lookup_page on context 0 when Xen allows it (PV: dfn = mfn = gfn); where context
    /// 0 is opaque (PVH), or without the capability, the address itself if context 0 is an
    /// identity map, as Linux answers.
    /// </summary>
    /// <inheritdoc/>
    public override int IovaToPhys(ulong iova, out ulong phys)
    {
        phys = 0;
        if (Driver.Has(CapFlags.Lookup))
        {
            var op = new LookupPage { CtxNo = ContextNo, Dfn = iova >> 12 };
            var ret = Driver.Ops.Call(SubOp.LookupPage, ref op);
            if (ret == 0)
            {
                phys = (op.Gfn << 12) | (iova & 0xFFF);
                return 0;
            }

            if (ret != XenErrno.EOPNOTSUPP.ToReturnValue())
            {
                return ret;
            }
        }

        if (!IsDirect)
        {
            return XenErrno.ENOENT.ToReturnValue();
        }

        phys = iova;
        return 0;
    }
}
