using System.Diagnostics;
using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Hypervisor.Domains;
using PvIommu.Hypervisor.Tests.Model;
using PvIommu.Hypervisor.Tests.Support;

namespace PvIommu.Hypervisor.Tests.Concurrency;

/// <summary>
/// Spec §4 on a host with one physical CPU: dom0's map of a million frames runs on one thread
/// while a DomU vCPU keeps making small calls on another. The small calls wait for the CPU, the
/// big one sees them at its slice boundaries, yields and continues, so the small calls finish
/// while the big one is still running, and the big one still returns 0 with every page mapped.
/// </summary>
public class PreemptionTests
{
    private const uint BigPages = 1_000_000;

    /// <summary>The scenario with an arena of 2^11 pages: room for a 4 KiB leaf table per 2 MiB, whatever leaves the slices write.</summary>
    [Fact]
    public async Task MillionFrameMap_OneCpu_OtherDomainsSmallCallsFinishFirst()
    {
        var run = await BigMapBesideSmallCalls(arenaOrder: 11);

        Assert.True(run.Ret == 0, $"the big map returned {XenErrnos.Describe(run.Ret)} after {run.Map.Mapped} pages");
        Assert.Equal(BigPages, run.Map.Mapped);
        Assert.Equal(BigPages - run.Map.NrPages, run.Map.Dfn);
        Assert.Equal(run.Map.Dfn, run.Map.Gfn - run.Gfn);
        Assert.True(run.Host.Counters.Continuations > 0, "the million-frame map was never preempted");
        Assert.Contains(run.Small, c => c.Op == SubOp.Noop && c.Start > run.BigStart && c.End < run.BigEnd);
        Assert.Contains(run.Small, c => c.Op == SubOp.MapPages && c.Start > run.BigStart && c.End < run.BigEnd);
        var dom0 = run.Host.Dom0();
        Assert.Equal((0, run.Gfn + BigPages - 1), (dom0.Lookup(run.Ctx, BigPages - 1).Ret, dom0.Lookup(run.Ctx, BigPages - 1).Out.Gfn));
        Assert.Equal(Hosts.Err(XenErrno.ENOENT), dom0.Lookup(run.Ctx, BigPages).Ret);
        Assert.Equal(0, dom0.Free(run.Ctx));
        run.Host.AssertNoLeaks();
    }

    /// <summary>
    /// Spec §3 map_pages: the PTE is the largest that fits — 2 MiB leaves for aligned contiguous
    /// frames — and §4 does not make an exception for a preempted call. So a million-frame map
    /// needs about seven table pages (root, L3, four L2, one L1 for the 64-frame tail) however
    /// often it is preempted, and a 16-page arena holds it; what another domain does must not
    /// turn it into -ENOMEM.
    /// </summary>
    [Fact]
    public async Task MillionFrameMap_Preempted_StillUsesTheLargestLeaves()
    {
        var run = await BigMapBesideSmallCalls(arenaOrder: 4);

        Assert.True(run.Host.Counters.Continuations > 0, "the million-frame map was never preempted");
        var dom0 = run.Host.Dom0();
        Assert.True(
            run.Ret == 0,
            $"the preempted map returned {XenErrnos.Describe(run.Ret)} after {run.Map.Mapped} pages with its 16-page arena full; dfn 0 is mapped by a {dom0.Lookup(run.Ctx, 0).Out.Pgsize:x}-byte leaf");
        Assert.Equal(BigPages, run.Map.Mapped);
        foreach (var dfn in new ulong[] { 0, 256, 512 * 977, (BigPages & ~511u) - 1 })
        {
            Assert.Equal((uint)PageSizes.Size2M, dom0.Lookup(run.Ctx, dfn).Out.Pgsize);
        }

        Assert.Equal(0, dom0.Free(run.Ctx));
        run.Host.AssertNoLeaks();
    }

    private sealed record BigRun(Host Host, ushort Ctx, ulong Gfn, int Ret, MapPages Map, TimeSpan BigStart, TimeSpan BigEnd, List<(SubOp Op, TimeSpan Start, TimeSpan End)> Small);

    /// <summary>dom0 (PV, 2^20 frames) maps a million frames at dfn 0 while a DomU vCPU makes small calls; one physical CPU.</summary>
    private static async Task<BigRun> BigMapBesideSmallCalls(uint arenaOrder)
    {
        // A PV dom0 of 2^20 frames (4 GiB) on a machine whose heap holds it, its context-0 tables and the DomU.
        var host = SmallHost.Create(dom0Frames: 1UL << 20, options: new HostOptions { PhysicalCpus = 1 }, heapFrames: 0x140000);
        Assert.True(host.SetPvIommu(1, PvIommuPolicy.On).IsOk);
        var dom0 = host.Dom0();
        var domU = host.DomU();
        Assert.Equal(0, dom0.Init(4, arenaOrder));
        Assert.Equal(0, domU.Init(4, 4));
        var big = dom0.Alloc().Ctx;
        var small = domU.Alloc().Ctx;
        var gfn = dom0.FirstRamGfn;

        // The big call queues first and the DomU's first map behind it (its noop needs no CPU),
        // so the big call sees it at its first slice.
        var clock = Stopwatch.StartNew();
        var bigStart = TimeSpan.MaxValue;
        var bigEnd = TimeSpan.MaxValue;
        var (bigCall, smallCalls) = OneCpu.LineUp(
            host,
            () =>
            {
                bigStart = clock.Elapsed;
                var result = dom0.Map(big, gfn, 0, BigPages);
                bigEnd = clock.Elapsed;
                return result;
            },
            big => SmallCalls(domU, small, big, clock));

        var (ret, map) = await bigCall.WaitAsync(TimeSpan.FromMinutes(2));
        var done = await smallCalls.WaitAsync(TimeSpan.FromMinutes(2));
        Assert.Equal(0, domU.Free(small));
        return new BigRun(host, big, gfn, ret, map, bigStart, bigEnd, done);
    }

    /// <summary>
    /// Noops and small map/unmap pairs of the DomU until the big call ends (and a few after, so
    /// some surely run), each with when it started and ended.
    /// </summary>
    private static List<(SubOp Op, TimeSpan Start, TimeSpan End)> SmallCalls(Guest domU, ushort ctx, Task bigCall, Stopwatch clock)
    {
        var done = new List<(SubOp, TimeSpan, TimeSpan)>();
        var after = 0;
        for (var i = 0; after < 3; i++)
        {
            after += bigCall.IsCompleted ? 1 : 0;
            var start = clock.Elapsed;
            Assert.Equal(0, domU.Noop());
            done.Add((SubOp.Noop, start, clock.Elapsed));
            start = clock.Elapsed;
            var (ret, map) = domU.Map(ctx, (ulong)(i % 1024), 0x100, 4);
            done.Add((SubOp.MapPages, start, clock.Elapsed));
            Assert.Equal((0, 4u), (ret, map.Mapped));
            Assert.Equal(0, domU.Unmap(ctx, 0x100, 4).Ret);
        }

        return done;
    }
}
