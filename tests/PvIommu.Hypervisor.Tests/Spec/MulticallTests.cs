using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Hypervisor.Tests.Support;
using PvIommu.Hypervisor.Toolstack;
using PvIommu.Platform.Memory;
using static PvIommu.Hypervisor.Tests.Support.Hosts;

namespace PvIommu.Hypervisor.Tests.Spec;

/// <summary>Spec §4.1 "Multicall".</summary>
public class MulticallTests
{
    /// <summary>What <see cref="MixedBatch"/> gets, entry by entry (spec §3 errnos).</summary>
    private static readonly int[] _mixedBatchResults =
        [0, Err(XenErrno.EINVAL), Err(XenErrno.EADDRINUSE), Err(XenErrno.ENOENT), 0, Err(XenErrno.ENOENT), Err(XenErrno.EOPNOTSUPP)];

    [Fact]
    public void Multicall_EntriesBehaveAsSeparateCalls_EachWithItsOwnResult()
    {
        // §4.1: iommu_op entries behave as separate calls, each with its own result; a failing entry does not stop the rest.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        var calls = MixedBatch(ctx, dom0.FirstRamGfn);
        dom0.Channel.Multicall(calls);
        Assert.Equal(_mixedBatchResults, calls.Select(c => c.Result).ToArray());
        Assert.Equal(2u, MapPages.Read(calls[0].Argument).Mapped);
        Assert.Equal(0u, MapPages.Read(calls[2].Argument).Mapped);
        Assert.Equal(2u, UnmapPages.Read(calls[3].Argument).Unmapped);
        Assert.Equal(2, Alloc.Read(calls[4].Argument).CtxNo);
        Assert.Equal(0, dom0.Ctx(ctx).MappedFrames);
        host.AssertNoLeaks();
    }

    [Fact]
    public void Multicall_PackedBatch_SameResultsAndBytesAsEntryObjects()
    {
        // The packed batch is the same multicall: results, written-back bytes and counts match entry by entry.
        static (int[] Results, byte[][] Bytes, long Hypercalls, long Multicalls) Run(bool packed)
        {
            var host = Hosts.Default();
            var dom0 = host.Dom0();
            var ctx = dom0.InitAndAlloc();
            IommuOpCall[] calls = [.. MixedBatch(ctx, dom0.FirstRamGfn), new IommuOpCall((uint)SubOp.MapPages, new byte[3])];
            var before = host.Counters;
            if (packed)
            {
                var batch = new IommuOpBatch(2);
                foreach (var call in calls)
                {
                    batch.Add(call.SubOp, call.Argument);
                }

                dom0.Channel.Multicall(batch);
                calls = [.. Enumerable.Range(0, batch.Count).Select(i => new IommuOpCall(batch.SubOpAt(i), batch.ArgumentAt(i).ToArray()) { Result = batch.ResultAt(i) })];
            }
            else
            {
                dom0.Channel.Multicall(calls);
            }

            host.AssertNoLeaks();
            return ([.. calls.Select(c => c.Result)], [.. calls.Select(c => c.Argument)], host.Counters.Hypercalls - before.Hypercalls, host.Counters.Multicalls - before.Multicalls);
        }

        var objects = Run(packed: false);
        var batch = Run(packed: true);

        Assert.Equal(objects.Results, batch.Results);
        Assert.Equal(objects.Bytes, batch.Bytes);
        Assert.Equal((objects.Hypercalls, objects.Multicalls), (batch.Hypercalls, batch.Multicalls));
        Assert.Equal([.. _mixedBatchResults, Err(XenErrno.EFAULT)], batch.Results);
    }

    [Fact]
    public void Multicall_CountsOneTrap()
    {
        // §4.1: "The cost model counts one trap per multicall" (each entry is still a call).
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var before = host.Counters;
        dom0.Channel.Multicall([Entry(SubOp.QueryCapabilities, new Capabilities()), new IommuOpCall(0, []), new IommuOpCall(0, [])]);
        Assert.Equal(before.Multicalls + 1, host.Counters.Multicalls);
        Assert.Equal(before.Hypercalls + 3, host.Counters.Hypercalls);
        host.AssertNoLeaks();
    }

    [Fact]
    public void Multicall_ScatteredPagesAtConsecutiveDfns_OneInvalidation()
    {
        // §4.1: a NIC refilling its ring with scattered pages: separate calls owe one invalidation each; in a
        // multicall they are merged and issued once.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        var gfn = dom0.FirstRamGfn;
        var before = host.Counters.IotlbInvalidations;
        for (ulong i = 0; i < 8; i++)
        {
            dom0.MapOk(ctx, gfn + (i * 37), 0x1000 + i, 1);
        }

        Assert.Equal(before + 8, host.Counters.IotlbInvalidations);
        var calls = Enumerable.Range(0, 8)
            .Select(i => Entry(SubOp.MapPages, new MapPages { CtxNo = ctx, Gfn = gfn + ((ulong)i * 41), Dfn = 0x2000 + (ulong)i, NrPages = 1, MapFlags = Guest.RW, Pgsize = PageSizes.Size4K }))
            .ToArray();
        before = host.Counters.IotlbInvalidations;
        dom0.Channel.Multicall(calls);
        Assert.All(calls, c => Assert.Equal(0, c.Result));
        Assert.Equal(before + 1, host.Counters.IotlbInvalidations);
        Assert.Equal(gfn + (7 * 41), dom0.Lookup(ctx, 0x2007).Out.Gfn);
        Assert.Equal(0, dom0.Free(ctx));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Multicall_UnmapEntries_NoStaleTranslationWhenItReturns()
    {
        // §4.1: the merged invalidations are issued before the multicall returns: strictness holds for every entry.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        Assert.Equal(0, dom0.Reattach(ctx, DefaultHost.Nic));
        var gfn = dom0.FirstRamGfn;
        ulong[] dfns = [0x1000, 0x1001, 0x1002, 0x5000];
        foreach (var dfn in dfns)
        {
            dom0.MapOk(ctx, gfn + dfn, dfn, 1);
            Dma.AssertReaches(host, DefaultHost.Nic, dfn, new Mfn(gfn + dfn));
        }

        var before = host.Counters.IotlbInvalidations;
        var calls = dfns.Select(d => Entry(SubOp.UnmapPages, new UnmapPages { CtxNo = ctx, Dfn = d, NrPages = 1, Pgsize = PageSizes.Size4K })).ToArray();
        dom0.Channel.Multicall(calls);
        Assert.All(calls, c => Assert.Equal(0, c.Result));
        Assert.Equal(before + 2, host.Counters.IotlbInvalidations);
        foreach (var dfn in dfns)
        {
            Dma.AssertFaults(host, DefaultHost.Nic, dfn);
        }

        Assert.Equal(0, dom0.Free(ctx, FreeFlags.ReattachDefault));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Multicall_TwoContexts_OneInvalidationEach()
    {
        // §4.1: invalidations are merged per context (hardware domain-id), never across them.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        Assert.Equal(0, dom0.Init(4, 6));
        var a = dom0.Alloc().Ctx;
        var b = dom0.Alloc().Ctx;
        var gfn = dom0.FirstRamGfn;
        var before = host.Counters.IotlbInvalidations;
        dom0.Channel.Multicall(
        [
            Entry(SubOp.MapPages, new MapPages { CtxNo = a, Gfn = gfn, Dfn = 0x10, NrPages = 1, MapFlags = Guest.RW, Pgsize = PageSizes.Size4K }),
            Entry(SubOp.MapPages, new MapPages { CtxNo = b, Gfn = gfn, Dfn = 0x11, NrPages = 1, MapFlags = Guest.RW, Pgsize = PageSizes.Size4K }),
            Entry(SubOp.MapPages, new MapPages { CtxNo = a, Gfn = gfn, Dfn = 0x11, NrPages = 1, MapFlags = Guest.RW, Pgsize = PageSizes.Size4K }),
        ]);
        Assert.Equal(before + 2, host.Counters.IotlbInvalidations);
        Assert.Equal(2, dom0.Ctx(a).MappedFrames);
        Assert.Equal(1, dom0.Ctx(b).MappedFrames);
        Assert.Equal(0, dom0.Free(a));
        Assert.Equal(0, dom0.Free(b));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Multicall_NoFlushMapsThenFlushPages_OneInvalidation()
    {
        // §4.1 with §3 deferred flush: no_flush entries owe nothing; the flush_pages entry owes one.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        var gfn = dom0.FirstRamGfn;
        var before = host.Counters.IotlbInvalidations;
        var calls = new[]
        {
            Entry(SubOp.MapPages, new MapPages { CtxNo = ctx, Gfn = gfn, Dfn = 0x10, NrPages = 1, MapFlags = Guest.RW | MapFlags.NoFlush, Pgsize = PageSizes.Size4K }),
            Entry(SubOp.MapPages, new MapPages { CtxNo = ctx, Gfn = gfn + 5, Dfn = 0x20, NrPages = 1, MapFlags = Guest.RW | MapFlags.NoFlush, Pgsize = PageSizes.Size4K }),
            Entry(SubOp.FlushPages, new FlushPages { CtxNo = ctx, Dfn = 0x10, NrPages = 0x11, Pgsize = PageSizes.Size4K }),
        };
        dom0.Channel.Multicall(calls);
        Assert.All(calls, c => Assert.Equal(0, c.Result));
        Assert.Equal(before + 1, host.Counters.IotlbInvalidations);
        Assert.Equal(0, dom0.Free(ctx));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Multicall_PolicyAndGateApplyPerEntry()
    {
        // §4.1 with §1.1: a caps-only DomU's multicall: query succeeds, init is -EPERM.
        var host = Hosts.Default();
        var domU = host.DomU();
        var calls = new[]
        {
            Entry(SubOp.QueryCapabilities, new Capabilities()),
            Entry(SubOp.Init, new Init { MaxCtxNo = 2, ArenaOrder = 2 }),
            new IommuOpCall(0, []),
        };
        domU.Channel.Multicall(calls);
        Assert.Equal(new[] { 0, Err(XenErrno.EPERM), 0 }, calls.Select(c => c.Result).ToArray());
        Assert.Equal((1UL << 48) - 1, Capabilities.Read(calls[0].Argument).MaxIovaAddr);
        Assert.False(domU.Domain.Iommu.IsInitialised);
        host.AssertNoLeaks();
    }

    [Fact]
    public void Multicall_PreemptedEntry_ContinuesWhereItStopped()
    {
        // §4.1: "A preempted entry continues the multicall where it stopped."
        var host = Hosts.Default(new HostOptions { PhysicalCpus = 1, PreemptBatch = 256 });
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc(4, 12);
        var gfn = dom0.FirstRamGfn;
        const uint Big = 100_000;
        var calls = new[]
        {
            Entry(SubOp.MapPages, new MapPages { CtxNo = ctx, Gfn = gfn, Dfn = 0x10, NrPages = 4, MapFlags = Guest.RW, Pgsize = PageSizes.Size4K }),
            Entry(SubOp.MapPages, new MapPages { CtxNo = ctx, Gfn = gfn + 1, Dfn = 0x100000, NrPages = Big, MapFlags = Guest.RW, Pgsize = PageSizes.Size4K }),
            Entry(SubOp.MapPages, new MapPages { CtxNo = ctx, Gfn = gfn, Dfn = 0x20, NrPages = 4, MapFlags = Guest.RW, Pgsize = PageSizes.Size4K }),
        };
        var before = host.Counters;
        var (_, parked) = Preemption.Run(
            host,
            () =>
            {
                dom0.Channel.Multicall(calls);
                return 0;
            },
            () => MapPages.Read(calls[1].Argument).Mapped is > 0 and < Big,
            () =>
            {
                Assert.Equal(4u, MapPages.Read(calls[0].Argument).Mapped);
                Assert.Equal(0u, MapPages.Read(calls[2].Argument).Mapped);
                Assert.False(dom0.Ctx(ctx).Table.TryLookup(0x20, out _));
            });
        Assert.True(parked > 0);
        Assert.Equal(new[] { 0, 0, 0 }, calls.Select(c => c.Result).ToArray());
        Assert.Equal(Big, MapPages.Read(calls[1].Argument).Mapped);
        Assert.Equal(4u, MapPages.Read(calls[2].Argument).Mapped);
        Assert.Equal((long)Big + 8, dom0.Ctx(ctx).MappedFrames);
        Assert.Equal(before.Multicalls + 1, host.Counters.Multicalls);
        Assert.True(host.Counters.Continuations > before.Continuations);
        Assert.Equal(0, dom0.Free(ctx));
        host.AssertNoLeaks();
    }

    /// <summary>
    /// A map, a map on context 0, a map over a mapped dfn, an unmap running past the mapped frames,
    /// an alloc, a lookup of a dfn no longer mapped and an unknown sub-op, in one batch.
    /// </summary>
    private static IommuOpCall[] MixedBatch(ushort ctx, ulong gfn) =>
    [
        Entry(SubOp.MapPages, new MapPages { CtxNo = ctx, Gfn = gfn, Dfn = 0x1000, NrPages = 2, MapFlags = Guest.RW, Pgsize = PageSizes.Size4K }),
        Entry(SubOp.MapPages, new MapPages { CtxNo = 0, Gfn = gfn, Dfn = 0x3000, NrPages = 1, MapFlags = Guest.RW, Pgsize = PageSizes.Size4K }),
        Entry(SubOp.MapPages, new MapPages { CtxNo = ctx, Gfn = gfn + 9, Dfn = 0x1001, NrPages = 2, MapFlags = Guest.RW, Pgsize = PageSizes.Size4K }),
        Entry(SubOp.UnmapPages, new UnmapPages { CtxNo = ctx, Dfn = 0x1000, NrPages = 3, Pgsize = PageSizes.Size4K }),
        Entry(SubOp.AllocContext, new Alloc()),
        Entry(SubOp.LookupPage, new LookupPage { CtxNo = ctx, Dfn = 0x1001 }),
        new IommuOpCall(200, new byte[8]),
    ];
}
