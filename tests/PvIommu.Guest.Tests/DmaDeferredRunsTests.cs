using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Guest.Dma;
using PvIommu.Guest.Tests.Support;
using PvIommu.Platform.Iommu;
using static PvIommu.Guest.Tests.Support.Lookups;

namespace PvIommu.Guest.Tests;

/// <summary>
/// The deferred flush sends queued blocks that are adjacent in IOVA space, one after the other in
/// the queue, as one unmap_pages entry (a page pool's refill takes adjacent IOVAs, and its pages
/// leave in ring order). Each block's IOVA is still freed on its own, and a block whose unmap
/// fails leaves no other block of its run mapped.
/// </summary>
public class DmaDeferredRunsTests
{
    [Fact]
    public void AdjacentBlocks_InEitherOrder_GoAsOneEntryEach_AndAreAllUnmappedAndFreed()
    {
        var host = Hosts.Default();
        var dma = host.NicDma(new DmaOptions { Policy = UnmapPolicy.Deferred }, out var driver);
        var addresses = MapPages(host, dma, 32);
        var sorted = addresses.Order().ToArray();
        Assert.All(sorted.Skip(1).Zip(sorted), p => Assert.Equal(p.Second + 4096, p.First));

        // Queue order: the lower half ascending, then the upper half descending: two runs.
        var low = sorted.Take(16);
        var high = sorted.Skip(16).Reverse();
        var guest0 = driver.Counters;
        foreach (var a in low.Concat(high))
        {
            Assert.Equal(0, dma.Unmap(0, a, 4096));
        }

        Assert.Equal(0, dma.FlushQueue());

        Assert.Equal(1, driver.Counters.Traps - guest0.Traps);
        Assert.Equal(1 + 2, driver.Counters.IommuOps - guest0.IommuOps);
        Assert.Equal(32, driver.Counters.FramesUnmapped - guest0.FramesUnmapped);
        Assert.All(addresses, a => Assert.Equal(FaultReason.NotMapped, host.DmaWrite(Hosts.Nic, a, [1]).Reason));
        Assert.Equal(0, dma.Counters.Iova!.LiveAllocations);
        Assert.Equal(0, dma.Counters.UnmapFailures);
        Assert.Equal(0, dma.Shutdown());
        host.AssertNoLeaks();
    }

    [Fact]
    public void BlocksNotAdjacent_OrNotInARow_StayEntriesOfTheirOwn()
    {
        var host = Hosts.Default();
        var dma = host.NicDma(new DmaOptions { Policy = UnmapPolicy.Deferred }, out var driver);
        var sorted = MapPages(host, dma, 8).Order().ToArray();
        var guest0 = driver.Counters;

        // 0, 2, 4, 6 are not adjacent; then 1, 3: each touches only blocks queued earlier, not the run before it.
        foreach (var i in new[] { 0, 2, 4, 6, 1, 3 })
        {
            Assert.Equal(0, dma.Unmap(0, sorted[i], 4096));
        }

        Assert.Equal(0, dma.FlushQueue());

        Assert.Equal(1 + 6, driver.Counters.IommuOps - guest0.IommuOps);
        Assert.Equal(6, driver.Counters.FramesUnmapped - guest0.FramesUnmapped);
        Assert.Equal(2, dma.Counters.LiveMappings);
        Assert.Equal(0, dma.Shutdown());
        host.AssertNoLeaks();
    }

    [Fact]
    public void ABlockThatFailsInsideARun_IsKept_EveryOtherBlockIsUnmappedAndFreed()
    {
        var host = Hosts.Default();
        var dma = host.NicDma(new DmaOptions { Policy = UnmapPolicy.Deferred }, out _);
        var sorted = MapPages(host, dma, 16).Order().ToArray();
        foreach (var a in sorted)
        {
            Assert.Equal(0, dma.Unmap(0, a, 4096));
        }

        // Behind the driver's back, the fifth page's frame is unmapped: the run's entry stops there.
        var hole = sorted[4];
        var op = new UnmapPages { CtxNo = dma.Domain.ContextNo, Dfn = hole >> 12, Pgsize = PageSizes.Size4K, NrPages = 1 };
        var bytes = new byte[UnmapPages.Size];
        op.Write(bytes);
        Assert.Equal(0, host.Channel(0).IommuOp((uint)SubOp.UnmapPages, bytes));

        Assert.Equal(Err(XenErrno.ENOENT), dma.FlushQueue());

        Assert.Equal(1, dma.Counters.UnmapFailures);
        Assert.All(sorted, a => Assert.Equal(FaultReason.NotMapped, host.DmaWrite(Hosts.Nic, a, [1]).Reason));
        Assert.Equal(1, dma.Counters.Iova!.LiveAllocations);
        Assert.True(((IommuDmaDevice)dma).Iova.IsLive(hole >> 12));
    }

    private static ulong[] MapPages(Hypervisor.Host host, DmaDevice dma, int count)
    {
        var gfns = host.RamGfns(0).Skip(64).Where((_, i) => i % 2 == 0).Take(count).ToArray();
        var addresses = new ulong[count];
        Assert.Equal(0, dma.MapEach(0, gfns, DmaDirection.FromDevice, addresses));
        return addresses;
    }
}
