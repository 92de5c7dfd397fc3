using PvIommu.Devices.Drivers;
using PvIommu.Devices.Network;
using PvIommu.Devices.Tests.Support;
using PvIommu.Platform.PageTables;

namespace PvIommu.Devices.Tests.Network;

/// <summary>The NIC driven by its reference driver: page pool recycling, NAPI budgets, TX unmap on completion.</summary>
public sealed class NicDriverTests
{
    private readonly Bed _bed = new();
    private readonly DeviceDomain _domain;
    private readonly DirectEnvironment _environment;
    private readonly Nic _nic;

    public NicDriverTests()
    {
        _domain = _bed.Attach(Bed.Nic);
        _environment = new DirectEnvironment(_bed, _domain);
        _nic = new Nic(_bed.Machine, Bed.Nic);
    }

    [Fact]
    public void Start_PostsEverySlotButOne()
    {
        var driver = Start(new NicDriverOptions { RxRingSize = 64, PoolRefill = 1 });

        Assert.Equal(63, driver.RxPosted);
        Assert.Equal(63, _nic.RxTail);
        Assert.Equal(0, _nic.RxHead);
        Assert.Equal(new PagePoolCounters(63, 0, 0, 0, 0, 0, 63), driver.Pool.Stats);
    }

    [Fact]
    public void Poll_ManyFramesThroughASmallRing_DeliversEveryByteInOrder()
    {
        var driver = Start(new NicDriverOptions { RxRingSize = 16 });
        var sent = new List<byte[]>();
        var received = new List<byte[]>();
        for (var i = 0; i < 1000; i++)
        {
            var frame = Bed.Pattern(60 + (i * 37 % 4000), i);
            Assert.Equal(RxOutcome.Delivered, _nic.Receive(frame));
            sent.Add(frame);
            if (i % 5 == 4)
            {
                driver.Poll(8, f => received.Add(f.ToArray()));
            }
        }

        while (driver.Poll(8, f => received.Add(f.ToArray())) > 0)
        {
        }

        Assert.Equal(sent.Count, received.Count);
        Assert.All(sent.Zip(received), p => Assert.True(p.First.AsSpan().SequenceEqual(p.Second)));
        Assert.Equal(1000, driver.Stats.RxPackets);
        Assert.Equal(0, _nic.Stats.RxMissed);
        Assert.Equal(_nic.Stats.RxBytes, driver.Stats.RxBytes);
    }

    [Fact]
    public void Poll_RespectsTheNapiBudget()
    {
        var driver = Start(new NicDriverOptions { RxRingSize = 256 });
        for (var i = 0; i < 100; i++)
        {
            _nic.Receive(new byte[64]);
        }

        Assert.Equal(64, driver.Poll(64, null));
        Assert.Equal(36, driver.Poll(64, null));
        Assert.Equal(0, driver.Poll(64, null));
    }

    [Fact]
    public void Poll_AcrossTheRingsEnd_ReapsEveryDoneDescriptorInOneCall()
    {
        // The descriptors are read in runs; a run stops at the ring's end and the next starts at slot 0.
        var driver = Start(new NicDriverOptions { RxRingSize = 16 });
        for (var i = 0; i < 12; i++)
        {
            _nic.Receive(Bed.Pattern(100, i));
        }

        Assert.Equal(12, driver.Poll(64, null));
        var received = new List<byte[]>();
        for (var i = 0; i < 12; i++)
        {
            _nic.Receive(Bed.Pattern(100 + i, 12 + i));
        }

        Assert.Equal(12, driver.Poll(64, f => received.Add(f.ToArray())));
        Assert.Equal(Enumerable.Range(0, 12).Select(i => Bed.Pattern(100 + i, 12 + i)), received);
        Assert.Equal(15, driver.RxPosted);
    }

    [Fact]
    public void Start_DefaultRefill_MapsOneBatchOfNewPagesInOneCall()
    {
        var driver = Start(new NicDriverOptions { RxRingSize = 64 });

        // page_pool's bulk refill: 128 pages come in at once, 63 go to the ring, 65 wait mapped.
        Assert.Equal(63, driver.RxPosted);
        Assert.Equal(1, _environment.MapEachCalls);
        Assert.Equal(new PagePoolCounters(128, 0, 62, 0, 0, 65, 63), driver.Pool.Stats);
        driver.Stop();
        _environment.AssertNoLeaks();
    }

    [Fact]
    public void PagePool_FullRecycling_ReusesTheSamePagesWithoutAnotherMap()
    {
        var driver = Start(new NicDriverOptions { RxRingSize = 64, PoolRefill = 1 });
        var pagesAtStart = _environment.MappedPages.ToHashSet();
        var mapsAtStart = _environment.Maps;

        for (var i = 0; i < 2000; i++)
        {
            _nic.Receive(Bed.Pattern(1500, i));
            if (i % 32 == 31)
            {
                driver.Poll(64, null);
            }
        }

        driver.Poll(64, null);
        Assert.Equal(mapsAtStart, _environment.Maps);
        Assert.Equal(0, _environment.Unmaps);
        Assert.Equal(pagesAtStart, _environment.MappedPages.ToHashSet());
        var pool = driver.Pool.Stats;
        Assert.Equal((63L, 0L, 2000L, 2000L), (pool.Maps, pool.Unmaps, pool.Recycled, pool.FastGets));
    }

    [Fact]
    public void PagePool_PartialRecycling_ReleasesAboutTheShareTheStackKeeps()
    {
        var (unmaps, maps) = RunWithRecycleRate(0.8, seed: 7);
        var (unmapsAgain, mapsAgain) = RunWithRecycleRate(0.8, seed: 7);

        // 64-frame polls at 80% recycling: about 13 unmaps a poll, the figure of the mlx5
        // batching patch (perf-anchors §4.1); the same seed gives the same run.
        Assert.Equal((unmaps, maps), (unmapsAgain, mapsAgain));
        Assert.InRange(unmaps, 0.15 * 6400, 0.25 * 6400);
        Assert.Equal(63 + unmaps, maps);
    }

    [Fact]
    public void PagePool_BatchedRefill_MapsNewPagesInFarFewerCalls()
    {
        var (unmaps, maps) = RunWithRecycleRate(0.8, seed: 7, refill: 64, out var calls);

        // Every page that left the pool was replaced, from whole batches of 64 mapped in one call each.
        Assert.InRange(maps - 63, unmaps, unmaps + 64);
        Assert.Equal(maps, calls * 64);
        Assert.InRange(calls, 1 + (unmaps / 64), 2 + (unmaps / 64));
    }

    [Fact]
    public void Poll_DataWriteRefused_RecyclesTheBufferAndCountsAnError()
    {
        var driver = Start(new NicDriverOptions { RxRingSize = 8 });

        // The RX ring is the driver's first page; slot 0 names the buffer the NIC fills next.
        var buffer = BitConverter.ToUInt64(_bed.Peek(Bed.RamFirst << 12, sizeof(ulong))) >> 12;
        Assert.True(_domain.Table.TryLookup(buffer, out var leaf));
        _domain.Unmap(buffer);

        Assert.Equal(RxOutcome.DataFault, _nic.Receive(new byte[60]));
        Assert.Equal(1, driver.Poll(64, _ => Assert.Fail("nothing arrived")));

        Assert.Equal(1, driver.Stats.RxErrors);
        Assert.Equal(0, driver.Stats.RxPackets);
        Assert.Equal(1, driver.Pool.Stats.Recycled);
        Assert.Equal(7, driver.RxPosted);
        _domain.Map(buffer, leaf.Mfn, 1, PteAccess.Write);
        driver.Stop();
        _environment.AssertNoLeaks();
    }

    [Fact]
    public void TryTransmit_MapsEachFragmentAndReapUnmapsThem()
    {
        var driver = Start(new NicDriverOptions { TxHeaderBytes = 128 });
        var mapsBefore = _environment.Maps;
        var frames = Enumerable.Range(0, 40).Select(i => Bed.Pattern(100 + (i * 397 % 9000), i)).ToList();
        var wire = new List<byte[]>();

        foreach (var frame in frames)
        {
            Assert.True(driver.TryTransmit(frame));
            _nic.Transmit(64, f => wire.Add(f.ToArray()));
            driver.ReapTransmit();
        }

        Assert.Equal(frames.Count, wire.Count);
        Assert.All(frames.Zip(wire), p => Assert.True(p.First.AsSpan().SequenceEqual(p.Second)));
        var fragments = frames.Sum(f => (f.Length > 128 ? 1 : 0) + ((f.Length - (f.Length > 128 ? 128 : 0) + 4095) / 4096));
        Assert.Equal(fragments, driver.Stats.TxFragments);
        Assert.Equal(fragments, driver.Stats.TxCompletions);
        Assert.Equal(mapsBefore + fragments, _environment.Maps);
        Assert.Equal(fragments, _environment.Unmaps);
        Assert.Equal(0, driver.TxInFlight);
    }

    [Fact]
    public void ReapTransmit_BeforeTheNicIsDone_KeepsTheMappings()
    {
        var driver = Start(new NicDriverOptions());
        driver.TryTransmit(new byte[1000]);

        Assert.Equal(0, driver.ReapTransmit());
        Assert.Equal(1, driver.TxInFlight);

        _nic.Transmit(1, null);
        Assert.Equal(1, driver.ReapTransmit());
    }

    [Fact]
    public void TryTransmit_RingFull_ReportsBusy()
    {
        var driver = Start(new NicDriverOptions { TxRingSize = 4 });

        Assert.True(driver.TryTransmit(new byte[100]));
        Assert.True(driver.TryTransmit(new byte[5000]));
        Assert.False(driver.TryTransmit(new byte[100]));

        Assert.Equal(1, driver.Stats.TxBusy);
        Assert.Equal(3, driver.TxInFlight);
    }

    [Fact]
    public void TryTransmit_SecondFragmentMapRefused_BacksOutTheFirst()
    {
        var driver = Start(new NicDriverOptions());
        var live = _environment.LiveMappings;
        var pages = _environment.PagesAllocated;
        _environment.MapBudget = 1;

        Assert.False(driver.TryTransmit(new byte[6000]));

        Assert.Equal(1, driver.Stats.TxMapFailures);
        Assert.Equal(live, _environment.LiveMappings);
        Assert.Equal(pages, _environment.PagesAllocated);
        Assert.Equal(0, _nic.TxTail);
    }

    [Fact]
    public void Poll_PoolCannotRefill_LeavesSlotsEmptyUntilALaterPoll()
    {
        var driver = Start(new NicDriverOptions { RxRingSize = 8, RecycleRate = 0, PoolRefill = 1 });
        for (var i = 0; i < 3; i++)
        {
            _nic.Receive(new byte[60]);
        }

        _environment.PageBudget = 1;
        driver.Poll(64, null);
        Assert.Equal(5, driver.RxPosted);
        Assert.Equal(1, driver.Stats.RxRefillFailures);

        _environment.PageBudget = long.MaxValue;
        driver.Poll(64, null);
        Assert.Equal(7, driver.RxPosted);
        Assert.Equal(7, (_nic.RxTail - _nic.RxHead + 8) % 8);
    }

    [Fact]
    public void Stop_WithFramesAndFragmentsInFlight_ReleasesEverything()
    {
        var driver = Start(new NicDriverOptions { RxRingSize = 32, RecycleRate = 0.5, Seed = 3 });
        for (var i = 0; i < 50; i++)
        {
            _nic.Receive(new byte[200]);
            driver.TryTransmit(new byte[3000]);
            if (i % 3 == 0)
            {
                driver.Poll(16, null);
                _nic.Transmit(2, null);
                driver.ReapTransmit();
            }
        }

        driver.Stop();

        Assert.False(_nic.RxEnabled);
        _environment.AssertNoLeaks();
    }

    [Fact]
    public void TryStart_RingsCannotBeMapped_HoldsNothing()
    {
        _environment.MapBudget = 1;

        Assert.Null(NicDriver.TryStart(_nic, _environment));

        _environment.AssertNoLeaks();
        Assert.False(_nic.RxEnabled);
    }

    private NicDriver Start(NicDriverOptions options) =>
        NicDriver.TryStart(_nic, _environment, options) ?? throw new InvalidOperationException("driver did not start");

    private static (long Unmaps, long Maps) RunWithRecycleRate(double rate, ulong seed) => RunWithRecycleRate(rate, seed, 1, out _);

    private static (long Unmaps, long Maps) RunWithRecycleRate(double rate, ulong seed, int refill, out long mapCalls)
    {
        var bed = new Bed();
        var environment = new DirectEnvironment(bed, bed.Attach(Bed.Nic));
        var nic = new Nic(bed.Machine, Bed.Nic);
        var driver = NicDriver.TryStart(nic, environment, new NicDriverOptions { RxRingSize = 64, RecycleRate = rate, Seed = seed, PoolRefill = refill })!;
        for (var poll = 0; poll < 100; poll++)
        {
            for (var i = 0; i < 64; i++)
            {
                Assert.Equal(RxOutcome.Delivered, nic.Receive(new byte[1500]));
                if (i == 62)
                {
                    driver.Poll(64, null);
                }
            }

            driver.Poll(64, null);
        }

        var pool = driver.Pool.Stats;
        mapCalls = environment.MapEachCalls;
        driver.Stop();
        environment.AssertNoLeaks();
        return (pool.Unmaps, pool.Maps);
    }
}
