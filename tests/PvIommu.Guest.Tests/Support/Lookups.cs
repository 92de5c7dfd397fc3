using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Hypervisor;

namespace PvIommu.Guest.Tests.Support;

/// <summary>Reading a context back through lookup_page, beside the driver (to check what it did).</summary>
internal static class Lookups
{
    public static (int Ret, LookupPage Out) Lookup(this Host host, ushort ctx, ulong dfn)
    {
        var bytes = new byte[LookupPage.Size];
        new LookupPage { CtxNo = ctx, Dfn = dfn }.Write(bytes);
        var ret = host.Channel(0).IommuOp((uint)SubOp.LookupPage, bytes);
        return (ret, LookupPage.Read(bytes));
    }

    public static int Err(XenErrno errno) => errno.ToReturnValue();
}
