using PvIommu.Abi;
using PvIommu.Guest.Dma;
using PvIommu.Guest.Tests.Support;
using PvIommu.Platform.Iommu;
using static PvIommu.Guest.Tests.Support.Lookups;

namespace PvIommu.Guest.Tests;

/// <summary>The DMA API over the real hypervisor: strict and deferred unmap, scatter-gather, windows.</summary>
public class DmaTests
{
    [Fact]
    public void Strict_AfterUnmapReturns_DmaThroughTheOldIovaFaults()
    {
        var host = Hosts.Default();
        var dma = host.NicDma(new DmaOptions { Policy = UnmapPolicy.Strict }, out _);
        Assert.True(dma!.IsProtected);
        Assert.Equal(dma.Domain.ContextNo, host.ContextOf(Hosts.Nic));
        var gfn = host.RamGfns(0)[500];
        Assert.Equal(0, dma.MapSingle(0, gfn, 0, 4096, DmaDirection.FromDevice, out var address));

        // The device uses the IOVA: the IOTLB now holds the translation.
        Assert.True(host.DmaWrite(Hosts.Nic, address, [1, 2, 3]).IsOk);
        Assert.Equal(0, dma.Unmap(0, address, 4096));

        Assert.Equal(FaultReason.NotMapped, host.DmaWrite(Hosts.Nic, address, [4]).Reason);
        Assert.Equal([1, 2, 3], host.ReadFrame(gfn, 0, 3));
        Assert.Equal(1, dma.Counters.Maps);
        Assert.Equal(0, dma.Shutdown());
        Assert.Equal(0, host.ContextOf(Hosts.Nic));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Deferred_StaleTranslationUntilThe10msTimer_ThenFaults()
    {
        var host = Hosts.Default();
        var driver = host.ProbeDom0();
        var clock = new ManualClock();
        Assert.Equal(0, DmaDevice.Create(driver, Hosts.Nic, new DmaOptions { Policy = UnmapPolicy.Deferred, Clock = clock }, out var dma));
        var gfn = host.RamGfns(0)[600];
        Assert.Equal(0, dma!.MapSingle(0, gfn, 0x80, 64, DmaDirection.FromDevice, out var address));
        Assert.True(host.DmaWrite(Hosts.Nic, address, [1]).IsOk);

        Assert.Equal(0, dma.Unmap(0, address, 64));
        clock.Advance((10 * ManualClock.NanosecondsPerMillisecond) - 1);
        dma.Poll();

        // The window: the unmap has returned but the device still reaches the buffer.
        Assert.True(host.DmaWrite(Hosts.Nic, address, [2]).IsOk);
        Assert.Equal([2], host.ReadFrame(gfn, 0x80, 1));
        Assert.Equal(1, dma.Counters.QueuedNow);

        clock.Advance(1);
        dma.Poll();

        Assert.Equal(FaultReason.NotMapped, host.DmaWrite(Hosts.Nic, address, [3]).Reason);
        Assert.Equal([2], host.ReadFrame(gfn, 0x80, 1));
        Assert.Equal((1L, 0), (dma.Counters.FlushesByTimer, dma.Counters.QueuedNow));
        Assert.Equal(0, dma.Shutdown());
        host.AssertNoLeaks();
    }

    [Fact]
    public void Deferred_The256thQueuedUnmap_FlushesWithoutTheTimer()
    {
        var host = Hosts.Default();
        var dma = host.NicDma(new DmaOptions { Policy = UnmapPolicy.Deferred }, out _);
        var ram = host.RamGfns(0);
        var addresses = new ulong[256];
        for (var i = 0; i < 256; i++)
        {
            Assert.Equal(0, dma!.MapSingle(i % 4, ram[i * 3], 0, 4096, DmaDirection.FromDevice, out addresses[i]));
            Assert.True(host.DmaWrite(Hosts.Nic, addresses[i], [1]).IsOk);
        }

        for (var i = 0; i < 255; i++)
        {
            Assert.Equal(0, dma!.Unmap(i % 4, addresses[i], 4096));
        }

        Assert.All(addresses, a => Assert.True(host.DmaWrite(Hosts.Nic, a, [2]).IsOk));
        Assert.Equal(0, dma!.Unmap(255 % 4, addresses[255], 4096));

        Assert.All(addresses, a => Assert.Equal(FaultReason.NotMapped, host.DmaWrite(Hosts.Nic, a, [3]).Reason));
        Assert.Equal((1L, 0L), (dma.Counters.FlushesByCount, dma.Counters.FlushesByTimer));
        Assert.Equal(0, dma.Shutdown());
        host.AssertNoLeaks();
    }

    [Fact]
    public void Deferred_ControlPath_OneTrapAndOneInvalidationPer256ScatteredUnmaps()
    {
        var host = Hosts.Default();
        var dma = host.NicDma(new DmaOptions { Policy = UnmapPolicy.Deferred }, out var driver);
        var ram = host.RamGfns(0);
        var addresses = new ulong[512];
        var beforeMaps = host.Counters;
        for (var i = 0; i < addresses.Length; i++)
        {
            Assert.Equal(0, dma!.MapSingle(0, ram[2 * i], 0, 4096, DmaDirection.Bidirectional, out addresses[i]));
        }

        // Maps carry MAP_no_flush: no invalidation at all.
        Assert.Equal(beforeMaps.IotlbInvalidations, host.Counters.IotlbInvalidations);

        // Every other buffer, in a seeded random order: 256 IOVA ranges that do not touch.
        var rng = new Random(7);
        var victims = addresses.Where((_, i) => i % 2 == 0).OrderBy(_ => rng.Next()).ToArray();
        var host0 = host.Counters;
        var guest0 = driver.Counters;
        foreach (var a in victims)
        {
            Assert.Equal(0, dma!.Unmap(0, a, 4096));
        }

        Assert.Equal(1, host.Counters.Multicalls - host0.Multicalls);
        Assert.Equal(1, host.Counters.IotlbInvalidations - host0.IotlbInvalidations);
        Assert.Equal(1, driver.Counters.Traps - guest0.Traps);
        Assert.Equal(1, driver.Counters.InvalidationsRequested - guest0.InvalidationsRequested);
        Assert.Equal(256, driver.Counters.FramesUnmapped - guest0.FramesUnmapped);
        Assert.All(victims, a => Assert.Equal(FaultReason.NotMapped, host.DmaWrite(Hosts.Nic, a, [1]).Reason));
        Assert.Equal(0, dma!.Shutdown());
        host.AssertNoLeaks();
    }

    [Fact]
    public void Strict_ControlPath_OneTrapAndOneInvalidationPerUnmap()
    {
        var host = Hosts.Default();
        var dma = host.NicDma(null, out _);
        var ram = host.RamGfns(0);
        var addresses = Enumerable.Range(0, 64).Select(i =>
        {
            Assert.Equal(0, dma!.MapSingle(0, ram[2 * i], 0, 4096, DmaDirection.Bidirectional, out var a));
            return a;
        }).ToArray();
        var host0 = host.Counters;

        foreach (var a in addresses.Where((_, i) => i % 2 == 0))
        {
            Assert.Equal(0, dma!.Unmap(0, a, 4096));
        }

        Assert.Equal(32, host.Counters.Hypercalls - host0.Hypercalls);
        Assert.Equal(32, host.Counters.IotlbInvalidations - host0.IotlbInvalidations);
        Assert.Equal(0, dma!.Shutdown());
        host.AssertNoLeaks();
    }

    [Fact]
    public void MapSg_ScatteredSegments_OneIovaBlock_DeviceReadsEachSegment()
    {
        var host = Hosts.Default();
        var driver = host.ProbeDom0();
        Assert.Equal(0, DmaDevice.Create(driver, Hosts.Nvme, null, out var dma));
        var ram = host.RamGfns(0);
        DmaSegment[] segments = [new(ram[10], 0x100, 0x200), new(ram[20], 0, 0x1800), new(ram[40], 0xF00, 0x200)];
        var patterns = segments.Select((s, i) => Enumerable.Range(0, (int)s.Length).Select(b => (byte)(b + (i * 50))).ToArray()).ToArray();
        for (var i = 0; i < segments.Length; i++)
        {
            WriteBytes(host, segments[i], patterns[i]);
        }

        Assert.Equal(0, dma!.MapSg(1, segments, DmaDirection.ToDevice, out var mapping));

        Assert.Equal(1 + 2 + 2, (int)mapping!.Pages);
        Assert.Equal(mapping.Addresses[0] >> 12, (mapping.Addresses[1] >> 12) - 1);
        for (var i = 0; i < segments.Length; i++)
        {
            var read = new byte[segments[i].Length];
            Assert.True(host.DmaRead(Hosts.Nvme, mapping.Addresses[i], read).IsOk);
            Assert.Equal(patterns[i], read);
        }

        Assert.Equal(FaultReason.WriteNotPermitted, host.DmaWrite(Hosts.Nvme, mapping.Addresses[0], [1]).Reason);
        Assert.Equal(0, dma.UnmapSg(1, mapping));
        Assert.Equal(FaultReason.NotMapped, host.DmaRead(Hosts.Nvme, mapping.Addresses[2], new byte[1]).Reason);
        Assert.Equal(0, dma.Shutdown());
        host.AssertNoLeaks();
    }

    [Fact]
    public void Dma32BitDevice_IovasStayBelow4GiB_AndSkipTheMsiWindowAndRmrr()
    {
        var host = Hosts.Default();
        var driver = host.ProbeDom0();
        Assert.Equal(0, DmaDevice.Create(driver, Hosts.Gpu, new DmaOptions { DmaMaskBits = 32 }, out var dma));
        var rng = new Random(5);
        var ram = host.RamGfns(0);
        var mapped = new List<(ulong Address, ulong Length)>();
        for (var i = 0; i < 600; i++)
        {
            var length = (ulong)rng.Next(1, 64 * 1024);
            Assert.Equal(0, dma!.MapSingle(i % 3, ram[rng.Next(100_000)], (ulong)rng.Next(4096), length, DmaDirection.Bidirectional, out var address));
            mapped.Add((address, length));
        }

        Assert.All(mapped, m => Assert.True(m.Address + m.Length <= 1UL << 32));
        Assert.DoesNotContain(mapped, m => m.Address < 0xFEF00000 && m.Address + m.Length > 0xFEE00000);
        Assert.Contains(mapped, m => m.Address < 0xFEE00000);
        var iova = ((IommuDmaDevice)dma!).Iova;
        Assert.DoesNotContain(iova.FreeExtents(), e => e.Start < 0x7F010 && e.End > 0x7F000);
        Assert.DoesNotContain(iova.FreeExtents(), e => e.Start < 0xFEF00 && e.End > 0xFEE00);
        foreach (var (address, length) in mapped)
        {
            Assert.Equal(0, dma.Unmap(0, address, length));
        }

        Assert.Equal(0, dma.Shutdown());
        host.AssertNoLeaks();
    }

    [Fact]
    public void Deferred_IovaSpaceHeldByTheQueue_IsFlushedWhenAMapNeedsIt()
    {
        var host = Hosts.Default();
        var driver = host.ProbeDom0();
        // A 20-bit device: 255 usable pages (IOVA 0 is never handed out).
        Assert.Equal(0, DmaDevice.Create(driver, Hosts.Nic, new DmaOptions { Policy = UnmapPolicy.Deferred, DmaMaskBits = 20 }, out var dma));
        var gfn = host.RamGfns(0)[9];
        var addresses = new List<ulong>();
        for (var i = 0; i < 255; i++)
        {
            Assert.Equal(0, dma!.MapSingle(0, gfn, 0, 16, DmaDirection.FromDevice, out var a));
            addresses.Add(a);
        }

        Assert.Equal(Err(XenErrno.ENOMEM), dma!.MapSingle(0, gfn, 0, 16, DmaDirection.FromDevice, out _));
        foreach (var a in addresses)
        {
            Assert.Equal(0, dma.Unmap(0, a, 16));
        }

        Assert.Equal(255, dma.Counters.QueuedNow);

        Assert.Equal(0, dma.MapSingle(0, gfn, 0, 16, DmaDirection.FromDevice, out var again));

        Assert.Equal(1, dma.Counters.FlushesOnDemand);
        Assert.Equal(0, dma.Counters.QueuedNow);
        Assert.Equal(0, dma.Unmap(0, again, 16));
        Assert.Equal(0, dma.Shutdown());
        host.AssertNoLeaks();
    }

    [Fact]
    public void MapFlags_DeferredUsesNoFlush_StrictDoesNot()
    {
        var host = Hosts.Default();
        var channel = new RecordingChannel(host.Channel(0));
        var driver = host.ProbeDom0(channel: channel);
        Assert.Equal(0, DmaDevice.Create(driver, Hosts.Nic, new DmaOptions { Policy = UnmapPolicy.Deferred }, out var deferred));
        Assert.Equal(0, DmaDevice.Create(driver, Hosts.Nvme, new DmaOptions { Policy = UnmapPolicy.Strict }, out var strict));
        var gfn = host.RamGfns(0)[11];
        channel.Clear();

        Assert.Equal(0, deferred!.MapSingle(0, gfn, 0, 100, DmaDirection.ToDevice, out _));
        Assert.Equal(0, strict!.MapSingle(0, gfn, 0, 100, DmaDirection.ToDevice, out _));

        var flags = channel.Maps.Select(m => m.MapFlags).ToArray();
        Assert.Equal(MapFlags.Readable | MapFlags.Cache | MapFlags.NoFlush, flags[0]);
        Assert.Equal(MapFlags.Readable | MapFlags.Cache, flags[1]);
        Assert.Equal(0, deferred.Shutdown());
        Assert.Equal(0, strict.Shutdown());
        host.AssertNoLeaks();
    }

    [Fact]
    public void Unmap_UnknownAddressOrWrongLength_IsRefused()
    {
        var host = Hosts.Default();
        var dma = host.NicDma(null, out _);
        Assert.Equal(0, dma!.MapSingle(0, host.RamGfns(0)[1], 0, 8192, DmaDirection.ToDevice, out var address));

        Assert.Equal(Err(XenErrno.EINVAL), dma.Unmap(0, address, 4096));
        Assert.Equal(Err(XenErrno.ENOENT), dma.Unmap(0, address + 0x10000, 4096));

        Assert.Equal(0, dma.Unmap(0, address, 8192));
        Assert.Equal(Err(XenErrno.ENOENT), dma.Unmap(0, address, 8192));
        Assert.Equal(0, dma.Shutdown());
        Assert.Equal(Err(XenErrno.ENODEV), dma.MapSingle(0, host.RamGfns(0)[1], 0, 1, DmaDirection.ToDevice, out _));
        host.AssertNoLeaks();
    }

    [Fact]
    public void IdentityOption_LeavesTheDeviceInContext0_Unprotected()
    {
        var host = Hosts.Default();
        var dma = host.NicDma(new DmaOptions { Identity = true }, out _);
        var gfn = host.RamGfns(0)[5];

        Assert.Equal(0, dma!.MapSingle(0, gfn, 4, 4, DmaDirection.FromDevice, out var address));

        Assert.False(dma.IsProtected);
        Assert.Equal((gfn << 12) | 4, address);
        Assert.Equal(0, host.ContextOf(Hosts.Nic));
        Assert.Equal(Err(XenErrno.EINVAL), dma.MapPages(0, [gfn, gfn + 2], 0, 8192, DmaDirection.FromDevice, out _));
        Assert.Equal(0, dma.Shutdown());
        host.AssertNoLeaks();
    }

    [Fact]
    public void Mappings_ListWhatIsLiveWithItsDirection_NotWhatIsQueuedOrRefused()
    {
        var host = Hosts.Default();
        var dma = host.NicDma(new DmaOptions { Policy = UnmapPolicy.Deferred }, out _);
        var gfns = host.RamGfns(0).Skip(20).Take(4).ToArray();

        Assert.Equal(0, dma!.MapPages(0, gfns.AsSpan(0, 2), 0, 8192, DmaDirection.ToDevice, out var pair));
        Assert.Equal(0, dma.MapSingle(0, gfns[2], 0, 4096, DmaDirection.FromDevice, out var single));
        Assert.Equal(0, dma.MapSingle(0, gfns[3], 0, 4096, DmaDirection.Bidirectional, out var gone));
        Assert.Equal(0, dma.Unmap(0, gone, 4096)); // queued: no longer the driver's
        Assert.Equal(Err(XenErrno.EINVAL), dma.Unmap(0, pair, 4096)); // wrong length: stays

        DmaMapping[] live = [new(pair >> 12, 2, DmaDirection.ToDevice), new(single >> 12, 1, DmaDirection.FromDevice)];
        Assert.Equal(live.OrderBy(m => m.Pfn), dma.Mappings().OrderBy(m => m.Pfn));
        Assert.Equal(0, dma.Shutdown());
        Assert.Empty(dma.Mappings());
        host.AssertNoLeaks();
    }

    [Fact]
    public void Mappings_DirectMapping_ReportsNone()
    {
        var host = Hosts.Default();
        var dma = host.NicDma(new DmaOptions { Identity = true }, out _);

        Assert.Equal(0, dma!.MapSingle(0, host.RamGfns(0)[5], 0, 4096, DmaDirection.FromDevice, out _));

        Assert.Empty(dma.Mappings());
        Assert.Equal(0, dma.Shutdown());
    }

    private static void WriteBytes(Hypervisor.Host host, DmaSegment segment, byte[] bytes)
    {
        var s = segment.Normalised;
        var done = 0;
        for (var page = 0UL; done < bytes.Length; page++)
        {
            var offset = page == 0 ? (int)s.Offset : 0;
            var n = Math.Min(4096 - offset, bytes.Length - done);
            host.WriteFrame(s.Gfn + page, offset, bytes[done..(done + n)]);
            done += n;
        }
    }
}
