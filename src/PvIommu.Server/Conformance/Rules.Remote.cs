using PvIommu.Abi;
using PvIommu.Abi.Structs;
using static PvIommu.Server.Conformance.RuleContext;

namespace PvIommu.Server.Conformance;

/// <summary>Spec §3: remote_cmd.</summary>
public static partial class ConformanceSuite
{
    private static IEnumerable<ConformanceRule> RemoteRules() =>
    [
        Rule("spec3.remote.nested", "remote_cmd whose inner sub-op is remote_cmd returns -EINVAL", c =>
        {
            var domu = c.NewDomain("caps-only");
            return Expect(XenErrno.EINVAL, c.Dom0.Remote(domu.Domid, SubOp.RemoteCmd, new RemoteCmd { Domid = domu.Domid }).Ret, "nested remote_cmd");
        }),
        Rule("spec3.remote.no-domain", "remote_cmd on a domain that does not exist returns -ENOENT", c =>
            Expect(XenErrno.ENOENT, c.Dom0.Remote(UnusedDomid(c), SubOp.QueryCapabilities, new Capabilities()).Ret, "remote on a missing domain")),
        Rule("spec3.remote.no-iommu", "remote_cmd on a domain without an IOMMU returns -ENODEV", c =>
        {
            var bare = c.NewDomain("on", iommu: false);
            return Expect(XenErrno.ENODEV, c.Dom0.Remote(bare.Domid, SubOp.QueryCapabilities, new Capabilities()).Ret, "remote on a domain without IOMMU");
        }),
        Rule("spec3.remote.inner-size", "remote_cmd with an inner struct of the wrong size returns -EFAULT", c =>
        {
            var domu = c.NewDomain("caps-only");
            return Expect(XenErrno.EFAULT, c.Dom0.Remote(domu.Domid, SubOp.QueryCapabilities, new Capabilities(), innerSize: Capabilities.Size - 4).Ret, "inner of 20 bytes");
        }),
        Rule("spec3.remote.target-memory", "remote_cmd map_pages maps the target's gfns into the target's context", c =>
        {
            var domu = c.NewDomain("caps-only");
            Expect(null, c.Dom0.Remote(domu.Domid, SubOp.Init, new Init { MaxCtxNo = 2, ArenaOrder = 6 }).Ret, "remote init");
            var (_, alloc) = c.Dom0.Remote(domu.Domid, SubOp.AllocContext, new Alloc());
            var map = new MapPages { CtxNo = alloc.CtxNo, Gfn = domu.Gfn + 2, Dfn = Dfn, NrPages = 1, MapFlags = Vcpu.RW, Pgsize = PageSizes.Size4K };
            var (ret, o) = c.Dom0.Remote(domu.Domid, SubOp.MapPages, map);
            var seen = Expect(null, ret, "remote map_pages");
            Check(o.Mapped == 1, $"mapped is {o.Mapped}");
            var (lookup, page) = c.Dom0.Remote(domu.Domid, SubOp.LookupPage, new LookupPage { CtxNo = alloc.CtxNo, Dfn = Dfn });
            Expect(null, lookup, "remote lookup_page");
            Check(page.Gfn == domu.Gfn + 2, $"the mapping points at gfn 0x{page.Gfn:x}");
            return seen;
        }),
    ];
}
