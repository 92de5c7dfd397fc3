using PvIommu.Abi;
using PvIommu.Guest.Dma;
using PvIommu.Guest.Tests.Support;
using PvIommu.Platform.Iommu;
using static PvIommu.Guest.Tests.Support.Lookups;

namespace PvIommu.Guest.Tests;

/// <summary>
/// <see cref="DmaDevice.MapEach"/>, a page pool's bulk refill: every page at its own dma
/// address, the whole batch in one multicall, all or nothing.
/// </summary>
public class DmaMapEachTests
{
    [Fact]
    public void Deferred_128Pages_OneTrapNoInvalidation_EachPageReachableAndUnmappedAlone()
    {
        var host = Hosts.Default();
        var dma = host.NicDma(new DmaOptions { Policy = UnmapPolicy.Deferred }, out var driver);
        var gfns = host.RamGfns(0).Where((_, i) => i % 3 == 1).Skip(100).Take(128).ToArray();
        var addresses = new ulong[gfns.Length];
        var host0 = host.Counters;
        var guest0 = driver.Counters;

        Assert.Equal(0, dma!.MapEach(0, gfns, DmaDirection.FromDevice, addresses));

        Assert.Equal(1, driver.Counters.Traps - guest0.Traps);
        Assert.Equal(128, driver.Counters.IommuOps - guest0.IommuOps);
        Assert.Equal(host0.IotlbInvalidations, host.Counters.IotlbInvalidations);
        Assert.Equal(128, addresses.Distinct().Count());
        Assert.Equal(128, dma.Counters.LiveMappings);
        for (var i = 0; i < gfns.Length; i++)
        {
            Assert.Equal(0UL, addresses[i] & 0xFFF);
            Assert.True(host.DmaWrite(Hosts.Nic, addresses[i] + 8, [(byte)i]).IsOk);
            Assert.Equal([(byte)i], host.ReadFrame(gfns[i], 8, 1));
        }

        Assert.Equal(0, dma.Unmap(0, addresses[7], 4096));
        Assert.Equal(0, dma.FlushQueue());
        Assert.Equal(FaultReason.NotMapped, host.DmaWrite(Hosts.Nic, addresses[7], [1]).Reason);
        Assert.True(host.DmaWrite(Hosts.Nic, addresses[8], [1]).IsOk);
        Assert.Equal(0, dma.Shutdown());
        host.AssertNoLeaks();
    }

    [Fact]
    public void Strict_Batch_IsStillOneTrap()
    {
        var host = Hosts.Default();
        var dma = host.NicDma(new DmaOptions { Policy = UnmapPolicy.Strict }, out var driver);
        var gfns = host.RamGfns(0).Skip(40).Take(16).ToArray();
        var addresses = new ulong[gfns.Length];
        var guest0 = driver.Counters;

        Assert.Equal(0, dma!.MapEach(0, gfns, DmaDirection.ToDevice, addresses));

        Assert.Equal(1, driver.Counters.Traps - guest0.Traps);
        Assert.All(addresses, a => Assert.True(host.DmaRead(Hosts.Nic, a, new byte[4]).IsOk));
        Assert.All(addresses, a => Assert.Equal(FaultReason.WriteNotPermitted, host.DmaWrite(Hosts.Nic, a, [1]).Reason));
        Assert.Equal(0, dma.Shutdown());
        host.AssertNoLeaks();
    }

    [Fact]
    public void APageThatCannotMap_LeavesNothingOfTheBatchMapped()
    {
        var host = Hosts.Default();
        var dma = host.NicDma(new DmaOptions { Policy = UnmapPolicy.Deferred }, out var driver);
        var gfns = host.RamGfns(0).Skip(10).Take(8).ToArray();
        gfns[5] = 0xFFFF_FFFF; // not backed
        var addresses = new ulong[gfns.Length];
        var guest0 = driver.Counters;

        Assert.Equal(Err(XenErrno.ENOENT), dma!.MapEach(0, gfns, DmaDirection.FromDevice, addresses));

        // Each entry of the multicall stands alone: the seven pages around the hole were mapped, then unmapped again.
        Assert.Equal(7, driver.Counters.FramesUndone - guest0.FramesUndone);
        Assert.Equal(0, dma.Counters.LiveMappings);
        Assert.Equal(1, dma.Counters.MapFailures);
        Assert.Equal(0, dma.Shutdown());
        host.AssertNoLeaks();
    }

    [Fact]
    public void ShortAddressSpan_IsRefused()
    {
        var host = Hosts.Default();
        var dma = host.NicDma(null, out _);
        var gfns = host.RamGfns(0).Take(4).ToArray();

        Assert.Equal(Err(XenErrno.EINVAL), dma!.MapEach(0, gfns, DmaDirection.FromDevice, new ulong[3]));

        Assert.Equal(0, dma.Counters.LiveMappings);
        Assert.Equal(0, dma.Shutdown());
        host.AssertNoLeaks();
    }

    [Fact]
    public void IdentityDevice_MapsEachPageAtItsOwnAddress()
    {
        var host = Hosts.Default();
        var dma = host.NicDma(new DmaOptions { Identity = true }, out _);
        var gfns = host.RamGfns(0).Skip(3).Take(3).ToArray();
        var addresses = new ulong[3];

        Assert.Equal(0, dma!.MapEach(0, gfns, DmaDirection.FromDevice, addresses));

        Assert.Equal(gfns.Select(g => g << 12), addresses);
        Assert.All(addresses, a => Assert.Equal(0, dma.Unmap(0, a, 4096)));
        Assert.Equal(0, dma.Shutdown());
        host.AssertNoLeaks();
    }
}
