using PvIommu.Abi;
using static PvIommu.Server.Conformance.RuleContext;

namespace PvIommu.Server.Conformance;

/// <summary>Spec §3: alloc_context, free_context, reattach_device.</summary>
public static partial class ConformanceSuite
{
    private static IEnumerable<ConformanceRule> ContextRules() =>
    [
        Rule("spec3.alloc.before-init", "alloc_context before init returns -ENOSPC", c => Expect(XenErrno.ENOSPC, c.NewDomain().Vcpu.Alloc().Ret, "alloc_context")),
        Rule("spec3.alloc.lowest", "alloc_context returns the lowest free number (1, 2, 3), then -ENOSPC; a freed number is handed out again", c =>
        {
            var v = c.NewInitialisedDomain(maxCtx: 3).Vcpu;
            var got = Enumerable.Range(0, 3).Select(_ => v.Alloc()).ToList();
            Check(got.All(a => a.Ret == 0) && got.Select(a => a.Ctx).SequenceEqual(new ushort[] { 1, 2, 3 }), $"got {string.Join(", ", got)}");
            var seen = Expect(XenErrno.ENOSPC, v.Alloc().Ret, "fourth alloc_context");
            Expect(null, v.Free(2), "free_context 2");
            var again = v.Alloc();
            Check(again == (0, 2), $"after freeing 2, alloc returned {again}");
            return seen;
        }),
        Rule("spec3.alloc.flags", "alloc_context with an unknown flag returns -EINVAL", c =>
            Expect(XenErrno.EINVAL, c.NewInitialisedDomain().Vcpu.Alloc((AllocFlags)2).Ret, "alloc_flags 0x2")),
        Rule("spec3.alloc.identity", "an ALLOC_identity context maps the domain's RAM at dfn = gfn, read/write", c =>
        {
            var domu = c.NewInitialisedDomain();
            var (ret, ctx) = domu.Vcpu.Alloc(AllocFlags.Identity);
            Expect(null, ret, "alloc_context identity");
            var gfn = domu.Gfn + 5;
            var (lookup, page) = domu.Vcpu.Lookup(ctx, gfn);
            var seen = Expect(null, lookup, "lookup_page of a RAM gfn");
            Check(page.Gfn == gfn && (page.MapFlags & Vcpu.RW) == Vcpu.RW, $"dfn 0x{gfn:x} maps gfn 0x{page.Gfn:x} flags {page.MapFlags}");
            return seen;
        }),
        Rule("spec3.free.default", "free_context of context 0 returns -EINVAL", c => Expect(XenErrno.EINVAL, c.NewInitialisedDomain().Vcpu.Free(0), "free 0")),
        Rule("spec3.free.not-allocated", "free_context of a context that is not allocated returns -ENOENT", c => Expect(XenErrno.ENOENT, c.NewInitialisedDomain().Vcpu.Free(3), "free 3")),
        Rule("spec3.free.flags", "free_context with an unknown flag returns -EINVAL", c =>
        {
            var v = c.NewInitialisedDomain().Vcpu;
            var (_, ctx) = v.Alloc();
            return Expect(XenErrno.EINVAL, v.Free(ctx, (FreeFlags)2), "free_flags 0x2");
        }),
        Rule("spec3.free.busy", "free_context of a context with a device returns -EBUSY and changes nothing; FREE_reattach_default frees it and the device goes back to context 0", c =>
        {
            var domu = c.NewInitialisedDomain(SandboxDevice.Plain);
            var v = domu.Vcpu;
            var (_, ctx) = v.Alloc();
            Expect(null, v.Reattach(ctx, domu.Dev), "reattach into the context");
            Expect(null, v.Map(ctx, domu.Gfn, 0x100, 1).Ret, "map_pages");
            var seen = Expect(XenErrno.EBUSY, v.Free(ctx), "free with a device attached");
            Expect(null, v.Lookup(ctx, 0x100).Ret, "lookup after the refused free");
            Expect(null, v.Free(ctx, FreeFlags.ReattachDefault), "free with FREE_reattach_default");
            var device = c.Host().Device(domu.Device!.Sbdf)!;
            Check(device.Owner == domu.Domid && device.Context == 0, $"the device is in d{device.Owner} context {device.Context}");
            Expect(null, v.Alloc().Ret, "the number is allocated again");
            return seen;
        }),
        Rule("spec3.reattach.not-assigned", "reattach_device of a device the domain does not own returns -ENODEV", c =>
        {
            var foreign = c.Host().Devices.First(d => d.Owner == 0);
            return Expect(XenErrno.ENODEV, c.NewInitialisedDomain().Vcpu.Reattach(0, foreign.Pci), $"reattach {foreign.Sbdf}");
        }),
        Rule("spec3.reattach.not-allocated", "reattach_device into a context that is not allocated returns -ENOENT", c =>
        {
            var domu = c.NewInitialisedDomain(SandboxDevice.Plain);
            return Expect(XenErrno.ENOENT, domu.Vcpu.Reattach(3, domu.Dev), "reattach into context 3");
        }),
        Rule("spec3.reattach.pasid", "reattach_device with a non-zero pasid returns -EINVAL", c =>
        {
            var domu = c.NewInitialisedDomain(SandboxDevice.Plain);
            return Expect(XenErrno.EINVAL, domu.Vcpu.Reattach(0, domu.Dev, pasid: 1), "pasid 1");
        }),
        Rule("spec3.reattach.same", "reattach_device into the context the device is in (0 here) returns 0", c =>
        {
            var domu = c.NewInitialisedDomain(SandboxDevice.Plain);
            return Expect(null, domu.Vcpu.Reattach(0, domu.Dev), "reattach into context 0");
        }),
        Rule("spec3.reattach.reserved-region", "a device moved into a new context still reaches its reserved region, which map_pages cannot cover (-EADDRNOTAVAIL)", c =>
        {
            var domu = c.NewInitialisedDomain(SandboxDevice.WithReservedRegion);
            var v = domu.Vcpu;
            var (_, ctx) = v.Alloc();
            Expect(null, v.Reattach(ctx, domu.Dev), "reattach into the new context");
            var rmrr = domu.Device!.Reserved[0].Dfn;
            var dma = v.Dma(domu.Dev, deviceWrites: false, rmrr << 12, new byte[64]);
            Expect(null, dma.Ret, $"device read of its reserved region at dfn 0x{rmrr:x} ({dma})");
            var seen = Expect(XenErrno.EADDRNOTAVAIL, v.Map(ctx, domu.Gfn, rmrr, 1).Ret, "map over the reserved region");
            Expect(null, v.Reattach(0, domu.Dev), "reattach back to context 0");
            return seen;
        }),
    ];
}
