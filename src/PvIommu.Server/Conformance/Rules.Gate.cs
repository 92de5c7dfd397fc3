using PvIommu.Abi;
using PvIommu.Abi.Structs;
using static PvIommu.Server.Conformance.RuleContext;

namespace PvIommu.Server.Conformance;

/// <summary>Spec §1: the call, the entry gate and who may call what.</summary>
public static partial class ConformanceSuite
{
    private static IEnumerable<ConformanceRule> GateRules() =>
    [
        Rule("spec1.noop", "noop from the hardware domain returns 0", c => Expect(null, c.Dom0.Noop(), "noop")),
        Rule("spec1.unknown-subop", "unknown sub-ops (15, 0xffff) return -EOPNOTSUPP", c =>
        {
            Expect(XenErrno.EOPNOTSUPP, c.Dom0.Raw(15, []), "sub-op 15");
            return Expect(XenErrno.EOPNOTSUPP, c.Dom0.Raw(0xFFFF, []), "sub-op 0xffff");
        }),
        Rule("spec1.declared-only", "the declared but unimplemented sub-ops 9-12 (nested, PASID) return -EOPNOTSUPP", c =>
        {
            var seen = string.Empty;
            foreach (var op in new[] { SubOp.AllocNested, SubOp.FlushNested, SubOp.AttachPasid, SubOp.DetachPasid })
            {
                seen = Expect(XenErrno.EOPNOTSUPP, c.Dom0.Raw((uint)op, new byte[SubOps.ArgumentSize(op)]), $"sub-op {(int)op}");
            }

            return seen;
        }),
        Rule("spec1.gate.pv-iommu-off", "a domain with pv_iommu \"off\" gets -ENODEV for every sub-op, noop included, and its argument is not touched", c =>
        {
            var off = c.NewDomain("off");
            Expect(XenErrno.ENODEV, off.Vcpu.Noop(), "noop");
            var bytes = Filled(Capabilities.Size, 0xA5);
            var seen = Expect(XenErrno.ENODEV, off.Vcpu.Raw((uint)SubOp.QueryCapabilities, bytes), "query_capabilities");
            Check(bytes.All(b => b == 0xA5), "the argument was written although the gate refused the call");
            return seen;
        }),
        Rule("spec1.gate.no-iommu", "a domain without an IOMMU gets -ENODEV, noop included", c =>
        {
            var bare = c.NewDomain("on", iommu: false);
            Expect(XenErrno.ENODEV, bare.Vcpu.Noop(), "noop");
            return Expect(XenErrno.ENODEV, bare.Vcpu.Query().Ret, "query_capabilities");
        }),
        Rule("spec1.1.caps-only.query", "a caps-only domain may query, and reports max_ctx_no 0 until someone initialises it", c =>
        {
            var domu = c.NewDomain("caps-only");
            var (ret, caps) = domu.Vcpu.Query();
            var seen = Expect(null, ret, "query_capabilities");
            Check(caps.MaxCtxNo == 0, $"max_ctx_no is {caps.MaxCtxNo}");
            return seen;
        }),
        Rule("spec1.1.caps-only.denied", "a caps-only domain gets -EPERM for init, alloc, free, reattach, map, unmap, flush and lookup", c =>
        {
            var domu = c.NewDomain("caps-only", SandboxDevice.Plain);
            var v = domu.Vcpu;
            Expect(XenErrno.EPERM, v.Init(4, 8), "init");
            Expect(XenErrno.EPERM, v.Alloc().Ret, "alloc_context");
            Expect(XenErrno.EPERM, v.Free(1), "free_context");
            Expect(XenErrno.EPERM, v.Reattach(0, domu.Dev), "reattach_device");
            Expect(XenErrno.EPERM, v.Map(1, domu.Gfn, 0x1000, 1).Ret, "map_pages");
            Expect(XenErrno.EPERM, v.Unmap(1, 0x1000, 1).Ret, "unmap_pages");
            Expect(XenErrno.EPERM, v.Flush(1, 0x1000, 1), "flush_pages");
            return Expect(XenErrno.EPERM, v.Lookup(1, 0x1000).Ret, "lookup_page");
        }),
        Rule("spec1.1.caps-only.remote", "a domain that is no device model gets -EPERM for remote_cmd", c =>
        {
            var domu = c.NewDomain("caps-only");
            var other = c.NewDomain("caps-only");
            return Expect(XenErrno.EPERM, domu.Vcpu.Remote(other.Domid, SubOp.QueryCapabilities, new Capabilities()).Ret, "remote query on another domain");
        }),
        Rule("spec1.1.device-model", "a device-model domain may remote_cmd its target (init, query) and gets -EPERM on any other domain", c =>
        {
            var target = c.NewDomain("caps-only");
            var stub = c.NewDomain("caps-only");
            var other = c.NewDomain("caps-only");
            c.Toolstack($$"""{"op":"set_device_model","device_model":{{stub.Domid}},"target":{{target.Domid}}}""");
            Expect(null, stub.Vcpu.Remote(target.Domid, SubOp.Init, new Init { MaxCtxNo = 2, ArenaOrder = 6 }).Ret, "remote init of the target");
            var (ret, caps) = stub.Vcpu.Remote(target.Domid, SubOp.QueryCapabilities, new Capabilities());
            Expect(null, ret, "remote query of the target");
            Check(caps.MaxCtxNo == 2, $"the target reports max_ctx_no {caps.MaxCtxNo} after the remote init");
            return Expect(XenErrno.EPERM, stub.Vcpu.Remote(other.Domid, SubOp.QueryCapabilities, new Capabilities()).Ret, "remote query of another domain");
        }),
        Rule("spec1.1.hardware-remote", "the hardware domain may remote_cmd any domain: it initialises a caps-only domain and allocates a context for it", c =>
        {
            var domu = c.NewDomain("caps-only");
            Expect(null, c.Dom0.Remote(domu.Domid, SubOp.Init, new Init { MaxCtxNo = 3, ArenaOrder = 6 }).Ret, "remote init");
            var (ret, alloc) = c.Dom0.Remote(domu.Domid, SubOp.AllocContext, new Alloc());
            var seen = Expect(null, ret, "remote alloc_context");
            Check(alloc.CtxNo == 1, $"the remote alloc returned context {alloc.CtxNo}, not 1");
            Check(domu.Vcpu.Query().Caps.MaxCtxNo == 3, "the domain's own query does not show the remote init");
            return seen;
        }),
    ];

    private static byte[] Filled(int length, byte value)
    {
        var bytes = new byte[length];
        bytes.AsSpan().Fill(value);
        return bytes;
    }
}
