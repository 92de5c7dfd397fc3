using PvIommu.Abi;
using static PvIommu.Server.Conformance.RuleContext;

namespace PvIommu.Server.Conformance;

/// <summary>Spec §3 and §4: map_pages, unmap_pages, lookup_page, flush_pages, continuations.</summary>
public static partial class ConformanceSuite
{
    private const ulong Dfn = 0x4000;

    private static IEnumerable<ConformanceRule> MapRules() =>
    [
        Rule("spec3.map.context", "map_pages into context 0, or a context that is not allocated, returns -EINVAL", c =>
        {
            var domu = c.NewInitialisedDomain();
            Expect(XenErrno.EINVAL, domu.Vcpu.Map(0, domu.Gfn, Dfn, 1).Ret, "context 0");
            return Expect(XenErrno.EINVAL, domu.Vcpu.Map(3, domu.Gfn, Dfn, 1).Ret, "context 3, not allocated");
        }),
        Rule("spec3.map.pgsize", "map_pages with a pgsize outside pgsize_mask, or gfn/dfn not aligned to it, returns -EINVAL", c =>
        {
            var (domu, ctx) = WithContext(c);
            Expect(XenErrno.EINVAL, domu.Vcpu.Map(ctx, domu.Gfn, Dfn, 1, pgsize: 8192).Ret, "pgsize 8 KiB");
            return Expect(XenErrno.EINVAL, domu.Vcpu.Map(ctx, domu.Gfn + 1, 0x200, 1, pgsize: PageSizes.Size2M).Ret, "2 MiB page at an unaligned gfn");
        }),
        Rule("spec3.map.flags", "map_pages with neither R nor W, or an unknown flag, returns -EINVAL", c =>
        {
            var (domu, ctx) = WithContext(c);
            Expect(XenErrno.EINVAL, domu.Vcpu.Map(ctx, domu.Gfn, Dfn, 1, MapFlags.None).Ret, "no access");
            return Expect(XenErrno.EINVAL, domu.Vcpu.Map(ctx, domu.Gfn, Dfn, 1, MapFlags.Readable | (MapFlags)0x10).Ret, "flag 0x10");
        }),
        Rule("spec3.map.range", "map_pages above max_iova_addr, or with dfn + nr_pages overflowing, returns -ERANGE", c =>
        {
            var (domu, ctx) = WithContext(c);
            var top = (domu.Vcpu.Query().Caps.MaxIovaAddr + 1) >> 12;
            Expect(XenErrno.ERANGE, domu.Vcpu.Map(ctx, domu.Gfn, top, 1).Ret, "dfn just above max_iova_addr");
            return Expect(XenErrno.ERANGE, domu.Vcpu.Map(ctx, domu.Gfn, ulong.MaxValue, 2).Ret, "dfn + nr_pages wraps");
        }),
        Rule("spec3.map.zero", "map_pages of 0 pages returns 0 and leaves mapped as passed", c =>
        {
            var (domu, ctx) = WithContext(c);
            var (ret, o) = domu.Vcpu.Map(ctx, domu.Gfn, Dfn, 0, mapped: 7);
            var seen = Expect(null, ret, "nr_pages 0");
            Check(o.Mapped == 7, $"mapped is {o.Mapped}");
            return seen;
        }),
        Rule("spec3.map.unbacked", "map_pages reaching an unbacked gfn returns -ENOENT; the pages before stay mapped and are counted", c =>
        {
            var (domu, ctx) = WithContext(c);
            var last = domu.View.Ram[0].Gfn + domu.View.Ram[0].Count - 1;
            var (ret, o) = domu.Vcpu.Map(ctx, last - 1, Dfn, 4);
            var seen = Expect(XenErrno.ENOENT, ret, "map across the end of RAM");
            Check(o.Mapped == 2, $"mapped is {o.Mapped}, not 2");
            Expect(null, domu.Vcpu.Lookup(ctx, Dfn + 1).Ret, "lookup of the second page");
            Expect(null, domu.Vcpu.Unmap(ctx, Dfn, 2).Ret, "unmap of what was mapped");
            return seen;
        }),
        Rule("spec3.map.in-use", "map_pages over a mapped dfn returns -EADDRINUSE with mapped counting the pages before", c =>
        {
            var (domu, ctx) = WithContext(c);
            Expect(null, domu.Vcpu.Map(ctx, domu.Gfn, Dfn + 2, 1).Ret, "first map");
            var (ret, o) = domu.Vcpu.Map(ctx, domu.Gfn + 10, Dfn, 4);
            var seen = Expect(XenErrno.EADDRINUSE, ret, "map over it");
            Check(o.Mapped == 2, $"mapped is {o.Mapped}, not 2");
            return seen;
        }),
        Rule("spec3.map.mapped-accumulates", "map_pages adds the pages it maps to the mapped value passed in", c =>
        {
            var (domu, ctx) = WithContext(c);
            var (ret, o) = domu.Vcpu.Map(ctx, domu.Gfn, Dfn, 3, mapped: 5);
            var seen = Expect(null, ret, "map 3 pages");
            Check(o.Mapped == 8, $"mapped is {o.Mapped}, not 8");
            return seen;
        }),
        Rule("spec3.unmap.context", "unmap_pages of context 0 returns -EINVAL", c =>
            Expect(XenErrno.EINVAL, c.NewInitialisedDomain().Vcpu.Unmap(0, Dfn, 1).Ret, "unmap in context 0")),
        Rule("spec3.unmap.not-mapped", "unmap_pages reaching an unmapped dfn returns -ENOENT with unmapped counting the pages before", c =>
        {
            var (domu, ctx) = WithContext(c);
            Expect(null, domu.Vcpu.Map(ctx, domu.Gfn, Dfn, 2).Ret, "map 2 pages");
            var (ret, o) = domu.Vcpu.Unmap(ctx, Dfn, 4);
            var seen = Expect(XenErrno.ENOENT, ret, "unmap 4 pages");
            Check(o.Unmapped == 2, $"unmapped is {o.Unmapped}, not 2");
            return seen;
        }),
        Rule("spec3.lookup.mapped", "lookup_page returns the gfn, the flags and the leaf size of a mapping", c =>
        {
            var (domu, ctx) = WithContext(c);
            Expect(null, domu.Vcpu.Map(ctx, domu.Gfn + 3, Dfn, 1, MapFlags.Readable).Ret, "read-only map");
            var (ret, page) = domu.Vcpu.Lookup(ctx, Dfn);
            var seen = Expect(null, ret, "lookup_page");
            Check(page.Gfn == domu.Gfn + 3 && (page.MapFlags & Vcpu.RW) == MapFlags.Readable && page.Pgsize == PageSizes.Size4K, $"gfn 0x{page.Gfn:x} flags {page.MapFlags} pgsize 0x{page.Pgsize:x}");
            return seen;
        }),
        Rule("spec3.lookup.not-mapped", "lookup_page of an unmapped dfn returns -ENOENT", c =>
        {
            var (domu, ctx) = WithContext(c);
            return Expect(XenErrno.ENOENT, domu.Vcpu.Lookup(ctx, Dfn).Ret, "lookup_page");
        }),
        Rule("spec5.lookup.pvh-default-opaque", "lookup_page in a PVH domain's context 0 returns -EOPNOTSUPP (it is opaque)", c =>
            Expect(XenErrno.EOPNOTSUPP, c.NewInitialisedDomain().Vcpu.Lookup(0, 0).Ret, "lookup in context 0")),
        Rule("spec5.lookup.pv-default-identity", "in a PV domain's context 0, dfn = mfn = gfn: lookup_page returns the dfn as gfn", c =>
        {
            var pv = c.NewInitialisedDomain(kind: "pv");
            var (ret, page) = pv.Vcpu.Lookup(0, pv.Gfn + 1);
            var seen = Expect(null, ret, "lookup in context 0");
            Check(page.Gfn == pv.Gfn + 1, $"dfn 0x{pv.Gfn + 1:x} maps gfn 0x{page.Gfn:x}");
            return seen;
        }),
        Rule("spec3.flush", "flush_pages of a range returns 0 (after a MAP_no_flush map); in context 0 it returns -EINVAL", c =>
        {
            var (domu, ctx) = WithContext(c);
            Expect(null, domu.Vcpu.Map(ctx, domu.Gfn, Dfn, 8, Vcpu.RW | MapFlags.NoFlush).Ret, "map with MAP_no_flush");
            var seen = Expect(null, domu.Vcpu.Flush(ctx, Dfn, 8), "flush_pages");
            Expect(XenErrno.EINVAL, domu.Vcpu.Flush(0, Dfn, 8), "flush_pages in context 0");
            return seen;
        }),
        Rule("spec4.continuation", "a map and an unmap of 3000 pages (many preemption slices) each complete as one call", c =>
        {
            var (domu, ctx) = WithContext(c);
            var (ret, o) = domu.Vcpu.Map(ctx, domu.Gfn, Dfn, 3000);
            var seen = Expect(null, ret, "map 3000 pages");
            Check(o.Mapped == 3000, $"mapped is {o.Mapped}");
            var (uret, u) = domu.Vcpu.Unmap(ctx, Dfn, 3000);
            Expect(null, uret, "unmap 3000 pages");
            Check(u.Unmapped == 3000, $"unmapped is {u.Unmapped}");
            return seen;
        }),
    ];

    /// <summary>A fresh initialised domain with one context allocated.</summary>
    private static (Sandbox Domain, ushort Ctx) WithContext(RuleContext c, SandboxDevice device = SandboxDevice.None)
    {
        var domu = c.NewInitialisedDomain(device);
        var (ret, ctx) = domu.Vcpu.Alloc();
        Expect(null, ret, "alloc_context");
        return (domu, ctx);
    }
}
