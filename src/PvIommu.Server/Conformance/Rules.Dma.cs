using PvIommu.Abi;
using PvIommu.Server.Client;
using static PvIommu.Server.Conformance.RuleContext;

namespace PvIommu.Server.Conformance;

/// <summary>Device DMA (wire kind 4) and what it shows of spec §3 and §5: translations, faults, strictness, default contexts.</summary>
public static partial class ConformanceSuite
{
    private static IEnumerable<ConformanceRule> DmaRules() =>
    [
        Rule("wire.dma.not-owner", "a domain's DMA with a device it does not own returns -EPERM", c =>
        {
            var foreign = c.Host().Devices.First(d => d.Owner == 0);
            var domu = c.NewDomain();
            return Expect(XenErrno.EPERM, domu.Vcpu.Dma(foreign.Pci, deviceWrites: false, 0, new byte[8]).Ret, $"DMA with {foreign.Sbdf}");
        }),
        Rule("dma.read", "a device reads a buffer mapped into its context (map, then device DMA from the dfn)", c =>
        {
            var (domu, ctx) = DeviceInContext(c);
            var data = Pattern(4096, 1);
            Expect(null, domu.Vcpu.Client.WriteMemory(domu.Gfn << 12, data), "memory write");
            Expect(null, domu.Vcpu.Map(ctx, domu.Gfn, Dfn, 1).Ret, "map");
            var read = new byte[4096];
            var seen = Expect(null, domu.Vcpu.Dma(domu.Dev, false, Dfn << 12, read).Ret, "device read");
            Check(read.AsSpan().SequenceEqual(data), "the device read other bytes than the buffer holds");
            return seen;
        }),
        Rule("dma.write", "a device writes a buffer mapped into its context; the domain reads what it wrote", c =>
        {
            var (domu, ctx) = DeviceInContext(c);
            Expect(null, domu.Vcpu.Map(ctx, domu.Gfn + 1, Dfn, 2).Ret, "map");
            var data = Pattern(5000, 2);
            var seen = Expect(null, domu.Vcpu.Dma(domu.Dev, true, (Dfn << 12) + 100, data).Ret, "device write");
            var back = new byte[data.Length];
            Expect(null, domu.Vcpu.Client.ReadMemory(((domu.Gfn + 1) << 12) + 100, back), "memory read");
            Check(back.AsSpan().SequenceEqual(data), "memory does not hold what the device wrote");
            return seen;
        }),
        Rule("dma.fault.not-mapped", "a device DMA to an unmapped dfn returns -EIO, reason 1 (not mapped), at the address it used", c =>
        {
            var (domu, _) = DeviceInContext(c);
            return ExpectFault(domu.Vcpu.Dma(domu.Dev, false, (Dfn << 12) + 0x10, new byte[8]), 1, (Dfn << 12) + 0x10);
        }),
        Rule("dma.fault.read-only", "a device write to a read-only mapping returns -EIO, reason 3, and writes nothing", c =>
        {
            var (domu, ctx) = DeviceInContext(c);
            var before = Pattern(4096, 3);
            Expect(null, domu.Vcpu.Client.WriteMemory(domu.Gfn << 12, before), "memory write");
            Expect(null, domu.Vcpu.Map(ctx, domu.Gfn, Dfn, 1, MapFlags.Readable).Ret, "read-only map");
            var seen = ExpectFault(domu.Vcpu.Dma(domu.Dev, true, Dfn << 12, new byte[64]), 3, Dfn << 12);
            var after = new byte[4096];
            Expect(null, domu.Vcpu.Client.ReadMemory(domu.Gfn << 12, after), "memory read");
            Check(after.AsSpan().SequenceEqual(before), "the refused write changed memory");
            return seen;
        }),
        Rule("dma.fault.write-only", "a device read of a write-only mapping returns -EIO, reason 2", c =>
        {
            var (domu, ctx) = DeviceInContext(c);
            Expect(null, domu.Vcpu.Map(ctx, domu.Gfn, Dfn, 1, MapFlags.Writeable).Ret, "write-only map");
            return ExpectFault(domu.Vcpu.Dma(domu.Dev, false, Dfn << 12, new byte[64]), 2, Dfn << 12);
        }),
        Rule("dma.fault.beyond-width", "a device DMA above the table width returns -EIO, reason 5", c =>
        {
            var (domu, _) = DeviceInContext(c);
            var width = 12 + (9 * c.Host().Iommus[0].Levels);
            return ExpectFault(domu.Vcpu.Dma(domu.Dev, false, 1UL << width, new byte[8]), 5, 1UL << width);
        }),
        Rule("dma.fault.all-or-nothing", "a device write that runs from a mapped page into an unmapped one faults at the unmapped page and writes nothing", c =>
        {
            var (domu, ctx) = DeviceInContext(c);
            var before = Pattern(4096, 4);
            Expect(null, domu.Vcpu.Client.WriteMemory(domu.Gfn << 12, before), "memory write");
            Expect(null, domu.Vcpu.Map(ctx, domu.Gfn, Dfn, 1).Ret, "map one page");
            var seen = ExpectFault(domu.Vcpu.Dma(domu.Dev, true, (Dfn << 12) + 2048, new byte[4096]), 1, (Dfn + 1) << 12);
            var after = new byte[4096];
            Expect(null, domu.Vcpu.Client.ReadMemory(domu.Gfn << 12, after), "memory read");
            Check(after.AsSpan().SequenceEqual(before), "the refused write changed the mapped page");
            return seen;
        }),
        Rule("dma.fault.counted", "a DMA fault is recorded: host info's faults counter grows", c =>
        {
            var (domu, _) = DeviceInContext(c);
            var before = c.Host().Counters["faults"];
            var seen = ExpectFault(domu.Vcpu.Dma(domu.Dev, false, Dfn << 12, new byte[8]), 1, Dfn << 12);
            var after = c.Host().Counters["faults"];
            Check(after == before + 1, $"faults went from {before} to {after}");
            return seen;
        }),
        Rule("spec3.unmap.strict", "after unmap_pages returns, the device cannot use the old translation (no stale IOTLB entry)", c =>
        {
            var (domu, ctx) = DeviceInContext(c);
            Expect(null, domu.Vcpu.Map(ctx, domu.Gfn, Dfn, 1).Ret, "map");
            Expect(null, domu.Vcpu.Dma(domu.Dev, false, Dfn << 12, new byte[64]).Ret, "device read (fills the IOTLB)");
            Expect(null, domu.Vcpu.Unmap(ctx, Dfn, 1).Ret, "unmap");
            return ExpectFault(domu.Vcpu.Dma(domu.Dev, false, Dfn << 12, new byte[64]), 1, Dfn << 12);
        }),
        Rule("spec3.reattach.no-stale", "after reattach_device to an empty context, the device cannot reach what the old context mapped", c =>
        {
            var (domu, ctx) = DeviceInContext(c);
            Expect(null, domu.Vcpu.Map(ctx, domu.Gfn, Dfn, 1).Ret, "map");
            Expect(null, domu.Vcpu.Dma(domu.Dev, false, Dfn << 12, new byte[64]).Ret, "device read (fills the IOTLB)");
            var (ret, empty) = domu.Vcpu.Alloc();
            Expect(null, ret, "alloc a second context");
            Expect(null, domu.Vcpu.Reattach(empty, domu.Dev), "reattach into it");
            return ExpectFault(domu.Vcpu.Dma(domu.Dev, false, Dfn << 12, new byte[64]), 1, Dfn << 12);
        }),
        Rule("spec5.pvh-default", "a PVH domain's device in context 0 reaches the domain's memory at dfn = gfn", c =>
        {
            var domu = c.NewInitialisedDomain(SandboxDevice.Plain);
            return DefaultContextReaches(domu, domu.Gfn + 7);
        }),
        Rule("spec5.pv-default", "a PV domain's device in context 0 reaches the domain's memory at dfn = mfn = gfn", c =>
        {
            var pv = c.NewInitialisedDomain(SandboxDevice.Plain, kind: "pv");
            return DefaultContextReaches(pv, pv.Gfn + 7);
        }),
        Rule("spec5.quarantine", "a device made assignable is quarantined: its DMA to RAM faults, even for the hardware domain", c =>
        {
            var device = c.Host().Devices.First(d => d.Owner == 0 && d.Reserved.Count == 0);
            var ram = c.Host().Domain(0)!.FirstRamGfn << 12;
            Expect(null, c.Dom0.Dma(device.Pci, false, ram, new byte[8]).Ret, "DMA before quarantine (dom0's context 0)");
            c.Quarantine(device);
            var dma = c.Dom0.Dma(device.Pci, false, ram, new byte[8]);
            Check(dma.Ret == XenErrno.EIO.ToReturnValue() && dma.Fault is { Reason: 1 or 4 }, $"quarantined DMA: {dma}");
            return dma.ToString();
        }),
        Rule("spec5.hot-unplug", "a device taken from its domain (deassign) keeps no translation of the domain's contexts", c =>
        {
            var (domu, ctx) = DeviceInContext(c);
            Expect(null, domu.Vcpu.Map(ctx, domu.Gfn, Dfn, 1).Ret, "map");
            Expect(null, domu.Vcpu.Dma(domu.Dev, false, Dfn << 12, new byte[64]).Ret, "device read");
            c.Toolstack($$"""{"op":"deassign_device","sbdf":"{{domu.Device!.Sbdf}}"}""");
            var dma = c.Dom0.Dma(domu.Dev, false, Dfn << 12, new byte[64]);
            Check(dma.Ret == XenErrno.EIO.ToReturnValue(), $"DMA after deassign: {dma}");
            return dma.ToString();
        }),
        Rule("spec5.destroy", "a device of a destroyed domain keeps no translation of the domain's contexts", c =>
        {
            var (domu, ctx) = DeviceInContext(c);
            Expect(null, domu.Vcpu.Map(ctx, domu.Gfn, Dfn, 1).Ret, "map");
            Expect(null, domu.Vcpu.Dma(domu.Dev, false, Dfn << 12, new byte[64]).Ret, "device read");
            c.Destroy(domu);
            var dma = c.Dom0.Dma(domu.Dev, false, Dfn << 12, new byte[64]);
            Check(dma.Ret == XenErrno.EIO.ToReturnValue(), $"DMA after destroy: {dma}");
            return dma.ToString();
        }),
    ];

    private static IEnumerable<ConformanceRule> FinalRules() =>
    [
        Rule("host.audit", "after every rule, the hypervisor's books balance (toolstack audit: arena pages, page references, contexts)", c =>
        {
            var audit = c.Toolstack("""{"op":"audit"}""");
            var problems = audit.GetProperty("problems").EnumerateArray().Select(p => p.GetString()).ToList();
            Check(problems.Count == 0, "audit: " + string.Join("; ", problems.Take(5)));
            return "clean";
        }),
    ];

    /// <summary>An initialised domain with a device moved into a fresh context.</summary>
    private static (Sandbox Domain, ushort Ctx) DeviceInContext(RuleContext c)
    {
        var (domu, ctx) = WithContext(c, SandboxDevice.Plain);
        Expect(null, domu.Vcpu.Reattach(ctx, domu.Dev), "reattach into the context");
        return (domu, ctx);
    }

    private static string ExpectFault(DmaOutcome dma, uint reason, ulong address)
    {
        Check(
            dma.Ret == XenErrno.EIO.ToReturnValue() && dma.Fault is { } f && f.Reason == reason && f.Address == address,
            $"expected -EIO with reason {reason} at 0x{address:x}, saw {dma}");
        return dma.ToString();
    }

    private static string DefaultContextReaches(Sandbox domain, ulong gfn)
    {
        var data = Pattern(256, 5);
        var seen = Expect(null, domain.Vcpu.Dma(domain.Dev, true, gfn << 12, data).Ret, "device write in context 0");
        var back = new byte[data.Length];
        Expect(null, domain.Vcpu.Client.ReadMemory(gfn << 12, back), "memory read");
        Check(back.AsSpan().SequenceEqual(data), "memory does not hold what the device wrote");
        return seen;
    }
}
