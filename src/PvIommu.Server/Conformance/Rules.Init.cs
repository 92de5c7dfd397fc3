using PvIommu.Abi;
using static PvIommu.Server.Conformance.RuleContext;

namespace PvIommu.Server.Conformance;

/// <summary>Spec §3: query_capabilities and init.</summary>
public static partial class ConformanceSuite
{
    private static IEnumerable<ConformanceRule> InitRules() =>
    [
        Rule("spec3.query.fields", "query_capabilities reports pgsize_mask 4K|2M|1G, max_iova_addr of the table width, cap bits 0,1,4,5,6 (not 2,3), max_pasid 0, max_ctx_no 0 before init", c =>
        {
            var levels = c.Host().Iommus[0].Levels;
            var domu = c.NewDomain();
            var (ret, caps) = domu.Vcpu.Query();
            var seen = Expect(null, ret, "query_capabilities");
            const CapFlags Expected = CapFlags.DefaultIdentity | CapFlags.Cache | CapFlags.Identity | CapFlags.DeferredFlush | CapFlags.Lookup;
            Check(caps.PgsizeMask == PageSizes.SupportedMask, $"pgsize_mask 0x{caps.PgsizeMask:x}");
            Check(caps.MaxIovaAddr == (1UL << (12 + (9 * levels))) - 1, $"max_iova_addr 0x{caps.MaxIovaAddr:x} for {levels}-level tables");
            Check(caps.CapFlags == Expected, $"cap_flags 0x{(uint)caps.CapFlags:x}, expected 0x{(uint)Expected:x}");
            Check(caps.MaxPasid == 0 && caps.MaxCtxNo == 0, $"max_pasid {caps.MaxPasid}, max_ctx_no {caps.MaxCtxNo}");
            return seen;
        }),
        Rule("spec3.init.e2big", "init with max_ctx_no 0 or 65535, or arena_order 21, returns -E2BIG and changes nothing (a valid init then succeeds)", c =>
        {
            var v = c.NewDomain().Vcpu;
            Expect(XenErrno.E2BIG, v.Init(0, 4), "max_ctx_no 0");
            Expect(XenErrno.E2BIG, v.Init(65535, 4), "max_ctx_no 65535");
            var seen = Expect(XenErrno.E2BIG, v.Init(4, 21), "arena_order 21");
            Expect(null, v.Init(4, 8), "a valid init after the failures");
            Check(v.Query().Caps.MaxCtxNo == 4, "max_ctx_no is not 4 after init(4, 8)");
            return seen;
        }),
        Rule("spec3.init.twice", "init is one-shot: the second returns -EACCES", c =>
        {
            var v = c.NewInitialisedDomain().Vcpu;
            return Expect(XenErrno.EACCES, v.Init(4, 8), "second init");
        }),
        Rule("spec3.init.order0", "arena_order 0 gives a one-page arena: one context's root fits, the next alloc returns -ENOMEM", c =>
        {
            var v = c.NewInitialisedDomain(maxCtx: 2, order: 0).Vcpu;
            var (ret, ctx) = v.Alloc();
            Expect(null, ret, "first alloc_context");
            Check(ctx == 1, $"first context is {ctx}");
            return Expect(XenErrno.ENOMEM, v.Alloc().Ret, "second alloc_context");
        }),
    ];
}
