using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Hypervisor.Calls;
using PvIommu.Hypervisor.Calls.Handlers;
using PvIommu.Hypervisor.Iommu;
using PvIommu.Hypervisor.Tests.Support;
using PvIommu.Hypervisor.Toolstack;
using PvIommu.Platform.Memory;

namespace PvIommu.Hypervisor.Tests.Spec;

/// <summary>Spec §4 "Batching and preemption".</summary>
public class BatchingTests
{
    private static HostOptions OneCpu(int batch = 256) => new() { PhysicalCpus = 1, PreemptBatch = batch };

    [Fact]
    public void Map_LargeCall_PreemptedWithProgressInStruct_CompletesTransparently()
    {
        // §4: every 256 frames the call checks for pending work; preempted, it writes gfn/dfn advanced, nr_pages
        // reduced and mapped increased into the caller's struct, leaves the context consistent, and is re-issued:
        // the caller sees one call that completes.
        var host = Hosts.Default(OneCpu());
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc(4, 12);
        var context = dom0.Ctx(ctx);
        const uint Total = 200_000;
        var gfn0 = dom0.FirstRamGfn;
        const ulong Dfn0 = 0x1000000;
        var op = new MapPages { CtxNo = ctx, Gfn = gfn0, Dfn = Dfn0, NrPages = Total, MapFlags = Guest.RW, Pgsize = PageSizes.Size4K };
        var continuations = host.Counters.Continuations;

        var (ret, parked, done) = Preemption.Map(
            host,
            dom0,
            op,
            m =>
            {
                Assert.Equal(0u, m.Mapped % 256);
                Assert.Equal((ulong)m.Mapped, m.Gfn - gfn0);
                Assert.Equal((ulong)m.Mapped, m.Dfn - Dfn0);
                Assert.Equal(Total, m.NrPages + m.Mapped);
                Assert.Equal((long)m.Mapped, context.MappedFrames);

                // No hypercall here: the test holds the only CPU. The table is read directly.
                Assert.True(context.Table.TryLookup(m.Dfn - 1, out var last));
                Assert.Equal(m.Gfn - 1, last.Mfn);
                Assert.False(context.Table.TryLookup(m.Dfn, out _));
                Assert.Empty(host.Audit());
            });

        Assert.Equal(0, ret);
        Assert.True(parked > 0, "the call was never seen between two slices");
        Assert.True(host.Counters.Continuations > continuations);
        Assert.Equal(Total, done.Mapped);
        Assert.Equal(done.Gfn - gfn0, done.Dfn - Dfn0);
        Assert.Equal(Total, done.NrPages + (uint)(done.Dfn - Dfn0));
        Assert.Equal(Total, context.MappedFrames);
        Assert.Equal(gfn0 + Total - 1, dom0.Lookup(ctx, Dfn0 + Total - 1).Out.Gfn);
        Assert.Equal(0, dom0.Free(ctx));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Map_Preempted_StillUses2MLeaves_FitsSmallArena()
    {
        // §3 map "the largest PTE that fits" with §4: preemption points do not cut 2 MiB leaves, so a preempted
        // map needs the arena pages an unpreempted one needs (here 16 pages for 200,000 frames).
        var host = Hosts.Default(OneCpu());
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc(4, 4);
        const uint Total = 200_000;
        const ulong Dfn0 = 0x1000000;
        var op = new MapPages { CtxNo = ctx, Gfn = dom0.FirstRamGfn, Dfn = Dfn0, NrPages = Total, MapFlags = Guest.RW, Pgsize = PageSizes.Size4K };
        var (ret, parked, done) = Preemption.Map(
            host,
            dom0,
            op,
            m => Assert.Equal(0u, m.Mapped % 512));
        Assert.Equal(0, ret);
        Assert.True(parked > 1);
        Assert.Equal(Total, done.Mapped);
        foreach (var dfn in new ulong[] { Dfn0, Dfn0 + 256, Dfn0 + (512 * 300) + 7, Dfn0 + (Total & ~511u) - 1 })
        {
            Assert.Equal(PageSizes.Size2M, dom0.Lookup(ctx, dfn).Out.Pgsize);
        }

        Assert.True(dom0.Domain.Iommu.Arena!.InUse <= 5);
        Assert.Equal(0, dom0.Free(ctx));
        host.AssertNoLeaks();
    }

    [Fact]
    public async Task Map_MillionPages_OtherDomainsSmallCallCompletesMeanwhile()
    {
        // §4: "one domain's 1-million-page map cannot stall another domain's small call by more than one slice".
        const uint Total = 1_000_000;
        var host = SpecHosts.Big(Total + 4096, OneCpu());
        var dom0 = host.Dom0();
        var domU = host.DomU();
        var ctx = dom0.InitAndAlloc(4, 12);
        const ulong Dfn0 = 1UL << 30;
        var bytes = new byte[MapPages.Size];
        new MapPages { CtxNo = ctx, Gfn = dom0.FirstRamGfn, Dfn = Dfn0, NrPages = Total, MapFlags = Guest.RW, Pgsize = PageSizes.Size4K }.Write(bytes);
        using var started = new ManualResetEventSlim();
        var big = Task.Factory.StartNew(
            () =>
            {
                started.Set();
                return dom0.Channel.IommuOp((uint)SubOp.MapPages, bytes);
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
        started.Wait();

        var smallCallsDuringMap = 0;
        var noops = 0;
        while (!big.IsCompleted)
        {
            Assert.Equal(0, domU.Noop());
            noops++;
            var (ret, caps) = domU.Query();
            Assert.Equal(0, ret);
            Assert.Equal((1UL << 48) - 1, caps.MaxIovaAddr);
            if (!big.IsCompleted)
            {
                smallCallsDuringMap++;
            }
        }

        Assert.Equal(0, await big);
        Assert.True(smallCallsDuringMap > 0, "no small call completed while the big map ran");
        Assert.True(host.Counters.Continuations > 0);
        Assert.Equal(Total, MapPages.Read(bytes).Mapped);
        Assert.Equal(Total, dom0.Ctx(ctx).MappedFrames);
        Dma.AssertFaults(host, DefaultHost.Nic, Dfn0);
        Assert.Equal(0, dom0.Reattach(ctx, DefaultHost.Nic));
        Dma.AssertReaches(host, DefaultHost.Nic, Dfn0 + Total - 1, new Mfn(dom0.FirstRamGfn + Total - 1));
        Assert.Equal(0, dom0.Free(ctx, FreeFlags.ReattachDefault));
        Assert.True(noops > 0);
        host.AssertNoLeaks();
    }

    [Fact]
    public void Map_NoPendingWork_IsNeverPreempted()
    {
        // §4: the call is preempted only "if there is some" pending work.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc(4, 12);
        var continuations = host.Counters.Continuations;
        dom0.MapOk(ctx, dom0.FirstRamGfn + 1, 0x100000, 100_000);
        Assert.Equal(continuations, host.Counters.Continuations);
        Assert.Equal(0, dom0.Free(ctx));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Map_Pgsize2M_PreemptedOnlyAtPageBoundaries()
    {
        // §4 with §3 map: progress is written back in whole pgsize pages.
        var host = Hosts.Default(OneCpu());
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc(4, 12);
        const uint Total = 400;
        var gfn0 = dom0.FirstRamGfn;
        const ulong Dfn0 = 0x200000;
        var op = new MapPages { CtxNo = ctx, Gfn = gfn0, Dfn = Dfn0, NrPages = Total, MapFlags = Guest.RW, Pgsize = PageSizes.Size2M };
        var (ret, parked, done) = Preemption.Map(
            host,
            dom0,
            op,
            m =>
            {
                Assert.Equal(m.Mapped * 512UL, m.Gfn - gfn0);
                Assert.Equal(m.Mapped * 512UL, m.Dfn - Dfn0);
                Assert.Equal(Total, m.NrPages + m.Mapped);
                Assert.Equal(m.Mapped * 512L, dom0.Ctx(ctx).MappedFrames);
            });
        Assert.Equal(0, ret);
        Assert.True(parked > 0);
        Assert.Equal(Total, done.Mapped);
        Assert.Equal(0, dom0.Free(ctx));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Map_PreemptBatchIsConfigurable()
    {
        // §4: "after every 256 frames processed (configurable)".
        var host = Hosts.Default(OneCpu(batch: 64));
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc(4, 12);
        const uint Total = 100_000;
        var op = new MapPages { CtxNo = ctx, Gfn = dom0.FirstRamGfn + 1, Dfn = 0x1000, NrPages = Total, MapFlags = Guest.RW, Pgsize = PageSizes.Size4K };
        var (ret, parked, _, ends) = Preemption.MapSlices(host, dom0, op, wanted: 64);
        Assert.Equal(0, ret);
        Assert.True(parked > 0);
        Assert.All(ends, end => Assert.Equal(0u, end % 64));
        Assert.True(ends.Any(end => end % 256 != 0), "every slice ended on a multiple of 256 frames, not of 64");
        Assert.Equal(0, dom0.Free(ctx));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Unmap_LargeCall_PreemptedWithProgress_FlushedAtEachSlice()
    {
        // §4: a preempted unmap writes dfn advanced, nr_pages reduced, unmapped increased, and flushes what it
        // changed before it yields: the frames unmapped so far are unreachable while the call is parked.
        var host = Hosts.Default(OneCpu());
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc(4, 12);
        const uint Total = 100_000;
        const ulong Dfn0 = 0x1000000;
        var gfn0 = dom0.FirstRamGfn;
        dom0.MapOk(ctx, gfn0, Dfn0, Total);
        Assert.Equal(0, dom0.Reattach(ctx, DefaultHost.Nic));
        Dma.AssertReaches(host, DefaultHost.Nic, Dfn0, new Mfn(gfn0));
        Dma.AssertReaches(host, DefaultHost.Nic, Dfn0 + 300, new Mfn(gfn0 + 300));
        var bytes = new byte[UnmapPages.Size];
        new UnmapPages { CtxNo = ctx, Dfn = Dfn0, NrPages = Total, Pgsize = PageSizes.Size4K }.Write(bytes);
        var (ret, parked) = Preemption.Run(
            host,
            () => dom0.Channel.IommuOp((uint)SubOp.UnmapPages, bytes),
            () => UnmapPages.Read(bytes).Unmapped is >= 512 and < Total,
            () =>
            {
                var u = UnmapPages.Read(bytes);
                Assert.Equal((ulong)u.Unmapped, u.Dfn - Dfn0);
                Assert.Equal(Total, u.NrPages + u.Unmapped);
                Assert.Equal((long)(Total - u.Unmapped), dom0.Ctx(ctx).MappedFrames);
                Dma.AssertFaults(host, DefaultHost.Nic, Dfn0);
                Dma.AssertFaults(host, DefaultHost.Nic, Dfn0 + 300);
                Dma.AssertReaches(host, DefaultHost.Nic, Dfn0 + Total - 1, new Mfn(gfn0 + Total - 1));
                Assert.Empty(host.Audit());
            });
        Assert.Equal(0, ret);
        Assert.True(parked > 0);
        Assert.Equal(Total, UnmapPages.Read(bytes).Unmapped);
        Assert.Equal(0, dom0.Ctx(ctx).MappedFrames);
        Dma.AssertFaults(host, DefaultHost.Nic, Dfn0 + Total - 1);
        Assert.Equal(0, dom0.Free(ctx, FreeFlags.ReattachDefault));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Free_LargeContext_PreemptedDying_CompletesAndNumberIsReusable()
    {
        // §3 free: "a large context is torn down with continuations"; between slices it is unusable, at the end
        // its tables are back in the arena and its number can be allocated again.
        var host = Hosts.Default(OneCpu());
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc(4, 12);
        dom0.MapOk(ctx, dom0.FirstRamGfn + 1, 0x1000, 100_000);
        var context = dom0.Ctx(ctx);
        var bytes = new byte[Free.Size];
        new Free { CtxNo = ctx }.Write(bytes);
        var continuations = host.Counters.Continuations;
        var (ret, parked) = Preemption.Run(
            host,
            () => dom0.Channel.IommuOp((uint)SubOp.FreeContext, bytes),
            () => context.State == ContextState.Dying,
            () =>
            {
                Assert.Same(context, dom0.Domain.Iommu.Context(ctx));
                Assert.Null(dom0.Domain.Iommu.LiveContext(ctx));
                Assert.NotEqual(ctx, dom0.Domain.Iommu.LowestFree());
                Assert.True(context.MappedFrames < 100_000);
                Assert.Empty(host.Audit());
                AssertDyingContextRefused(host, dom0, ctx);
            });
        Assert.Equal(0, ret);
        Assert.True(parked > 0);
        Assert.True(host.Counters.Continuations > continuations);
        Assert.Null(dom0.Domain.Iommu.Context(ctx));
        Assert.Equal(0, dom0.Domain.Iommu.Arena!.InUse);
        Assert.Equal((0, ctx), dom0.Alloc());
        host.AssertNoLeaks();
    }

    /// <summary>
    /// What another vCPU's calls get on a context between two slices of its free. No hypercall can
    /// run while the test holds the only CPU, so the handlers are called as the dispatcher calls
    /// them, under the domain's lock.
    /// </summary>
    private static void AssertDyingContextRefused(Host host, Guest guest, ushort ctx)
    {
        lock (guest.Domain.Lock)
        {
            var call = new CallContext(host, guest.Domain, guest.Domain, new FlushQueue());
            Assert.Equal(Hosts.Err(XenErrno.ENOENT), ReattachDeviceHandler.Run(call, Bytes(new ReattachDevice { CtxNo = ctx, Dev = Guest.Dev(DefaultHost.Nic) })).Ret);
            Assert.Equal(Hosts.Err(XenErrno.ENOENT), FreeContextHandler.Run(call, Bytes(new Free { CtxNo = ctx })).Ret);
            Assert.Equal(Hosts.Err(XenErrno.EINVAL), MapPagesHandler.Run(call, Bytes(new MapPages { CtxNo = ctx, Gfn = guest.FirstRamGfn, Dfn = 1, NrPages = 1, MapFlags = Guest.RW, Pgsize = PageSizes.Size4K })).Ret);
            Assert.Equal(Hosts.Err(XenErrno.EINVAL), UnmapPagesHandler.Run(call, Bytes(new UnmapPages { CtxNo = ctx, Dfn = 0x1000, NrPages = 1, Pgsize = PageSizes.Size4K })).Ret);
            Assert.Equal(Hosts.Err(XenErrno.EINVAL), FlushPagesHandler.Run(call, Bytes(new FlushPages { CtxNo = ctx, Dfn = 0x1000, NrPages = 1, Pgsize = PageSizes.Size4K })).Ret);
            Assert.Equal(Hosts.Err(XenErrno.EINVAL), LookupPageHandler.Run(call, Bytes(new LookupPage { CtxNo = ctx, Dfn = 0x1000 })).Ret);
            Assert.True(call.Flushes.IsEmpty);
        }
    }

    private static byte[] Bytes<T>(T arg)
        where T : struct, IAbiStruct<T>
    {
        var bytes = new byte[64];
        arg.Write(bytes);
        return bytes;
    }

    [Fact]
    public void RemoteCmd_LargeInnerMap_PreemptedAndContinued()
    {
        // §4 with §3 remote_cmd: the inner struct carries the progress; the remote call completes as one.
        var host = Hosts.Default(OneCpu());
        var dom0 = host.Dom0();
        var domU = host.DomU();
        Assert.Equal(0, dom0.Remote(1, SubOp.Init, new Init { MaxCtxNo = 1, ArenaOrder = 10 }).Ret);
        Assert.Equal(0, dom0.Remote(1, SubOp.AllocContext, new Alloc()).Ret);
        const uint Total = 65536;
        var bytes = new byte[RemoteCmd.Size + MapPages.Size];
        new RemoteCmd { Domid = 1, Subop = SubOp.MapPages }.Write(bytes);
        new MapPages { CtxNo = 1, Gfn = 0, Dfn = 0x10001, NrPages = Total, MapFlags = Guest.RW, Pgsize = PageSizes.Size4K }.Write(bytes.AsSpan(RemoteCmd.Size));
        var (ret, parked) = Preemption.Run(
            host,
            () => dom0.Channel.IommuOp((uint)SubOp.RemoteCmd, bytes),
            () => MapPages.Read(bytes.AsSpan(RemoteCmd.Size)).Mapped is > 0 and < Total,
            () =>
            {
                var m = MapPages.Read(bytes.AsSpan(RemoteCmd.Size));
                Assert.Equal((ulong)m.Mapped, m.Gfn);
                Assert.Equal(Total, m.NrPages + m.Mapped);
                Assert.Equal((long)m.Mapped, domU.Ctx(1).MappedFrames);
            });
        Assert.Equal(0, ret);
        Assert.True(parked > 0);
        Assert.Equal(Total, MapPages.Read(bytes.AsSpan(RemoteCmd.Size)).Mapped);
        Assert.Equal(0, dom0.Remote(1, SubOp.FreeContext, new Free { CtxNo = 1 }).Ret);
        host.AssertNoLeaks();
    }
}
