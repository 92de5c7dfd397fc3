using PvIommu.Devices.Drivers;
using PvIommu.Devices.Tests.Support;

namespace PvIommu.Devices.Tests.Drivers;

/// <summary>The drivers' building blocks: DMA regions and the page pool.</summary>
public sealed class DriverBlocksTests
{
    private readonly Bed _bed = new();
    private readonly DeviceDomain _domain;
    private readonly DirectEnvironment _environment;

    public DriverBlocksTests()
    {
        _domain = _bed.Attach(Bed.Gpu);
        _environment = new DirectEnvironment(_bed, _domain);
    }

    [Fact]
    public void DmaRegion_CpuWritesAcrossPages_TheDeviceReadsThemAtTheIova()
    {
        var region = DmaRegion.TryCreate(_environment, 10_000, DmaDirection.Bidirectional)!;
        var data = Bed.Pattern(9000, 1);
        var engine = new DmaEngine(_bed.Machine, Bed.Gpu);

        region.Write(500, data);
        var seen = new byte[9000];
        Assert.True(engine.Read(region.Iova + 500, seen).IsOk);

        Assert.Equal(data, seen);
        Assert.Equal(3, region.PageCount);
        Assert.True(engine.Write(region.Iova, [42]).IsOk);
        var back = new byte[1];
        region.Read(0, back);
        Assert.Equal(42, back[0]);
        region.Release();
        region.Release();
        _environment.AssertNoLeaks();
    }

    [Fact]
    public void DmaRegion_StartsZeroed()
    {
        _environment.TryAllocatePage(out var page);
        _environment.Write(page, Bed.Pattern(4096, 2));
        _environment.FreePage(page);

        var region = DmaRegion.TryCreate(_environment, 4096, DmaDirection.FromDevice)!;
        var bytes = new byte[4096];
        region.Read(0, bytes);

        Assert.Equal(new byte[4096], bytes);
        region.Release();
    }

    [Fact]
    public void DmaRegion_PageRefused_HoldsNothing()
    {
        _environment.PageBudget = 2;

        Assert.Null(DmaRegion.TryCreate(_environment, 3 * 4096, DmaDirection.ToDevice));

        _environment.AssertNoLeaks();
    }

    [Fact]
    public void PagePool_CacheFull_ReleasesTheExtraPage()
    {
        var pool = new PagePool(_environment, DmaDirection.FromDevice, cacheSize: 2);
        var pages = Enumerable.Range(0, 3).Select(_ => pool.TryGet(out var p) ? p : throw new InvalidOperationException()).ToList();

        pages.ForEach(pool.Recycle);

        Assert.Equal(new PagePoolCounters(3, 1, 0, 2, 0, 2, 0), pool.Stats);
        Assert.True(pool.TryGet(out var again));
        Assert.Equal(pages[1], again);
        Assert.Equal(1, pool.Stats.FastGets);
        pool.Release(again);
        pool.Drain();
        _environment.AssertNoLeaks();
    }

    [Fact]
    public void PagePool_MapRefused_ReturnsThePage()
    {
        var pool = new PagePool(_environment, DmaDirection.FromDevice, 4);
        _environment.MapBudget = 0;

        Assert.False(pool.TryGet(out _));

        Assert.Equal(1, pool.Stats.MapFailures);
        _environment.AssertNoLeaks();
    }

    [Fact]
    public void PagePool_RefillBatch_MapsTheBatchInOneCallAndHandsItOutInOrder()
    {
        var pool = new PagePool(_environment, DmaDirection.FromDevice, cacheSize: 8, refillBatch: 4);
        var pages = Enumerable.Range(0, 5).Select(_ => pool.TryGet(out var p) ? p : throw new InvalidOperationException()).ToList();

        // Two batches of 4: the first covers four gets, the fifth starts the second.
        Assert.Equal(2, _environment.MapEachCalls);
        Assert.Equal(8, _environment.Maps);
        Assert.Equal(new PagePoolCounters(8, 0, 3, 0, 0, 3, 5), pool.Stats);
        Assert.Equal(pages.Select(p => p.Address).Order(), pages.Select(p => p.Address));
        pages.ForEach(pool.Release);
        pool.Drain();
        _environment.AssertNoLeaks();
    }

    [Fact]
    public void PagePool_RefillBatch_IsCappedByWhatTheCacheCanHold()
    {
        var pool = new PagePool(_environment, DmaDirection.FromDevice, cacheSize: 2, refillBatch: 64);

        Assert.True(pool.TryGet(out var page));

        Assert.Equal(3, pool.RefillBatch);
        Assert.Equal(2, pool.Stats.Cached);
        pool.Release(page);
        pool.Drain();
        _environment.AssertNoLeaks();
    }

    [Fact]
    public void PagePool_RefillBatch_MapsWhatMemoryGives()
    {
        var pool = new PagePool(_environment, DmaDirection.FromDevice, cacheSize: 8, refillBatch: 4);
        _environment.PageBudget = 2;

        Assert.True(pool.TryGet(out var page));

        Assert.Equal(new PagePoolCounters(2, 0, 0, 0, 0, 1, 1), pool.Stats);
        pool.Release(page);
        pool.Drain();
        _environment.AssertNoLeaks();
    }

    [Fact]
    public void PagePool_RefillBatchMapRefusedPartWay_LeavesNothingMappedOrAllocated()
    {
        var pool = new PagePool(_environment, DmaDirection.FromDevice, cacheSize: 8, refillBatch: 4);
        _environment.MapBudget = 3;

        Assert.False(pool.TryGet(out _));

        Assert.Equal(new PagePoolCounters(0, 0, 0, 0, 1, 0, 0), pool.Stats);
        Assert.Equal(0, _environment.LiveMappings);
        Assert.Equal(0, _environment.PagesAllocated);
        _environment.AssertNoLeaks();
    }

    [Fact]
    public void PagePool_BatchRefused_FallsBackToOnePage()
    {
        var environment = new NoBatches(_environment);
        var pool = new PagePool(environment, DmaDirection.FromDevice, cacheSize: 8, refillBatch: 4);

        Assert.True(pool.TryGet(out var page));

        // The batch of four was refused whole; one page was mapped alone and the other three freed.
        Assert.Equal(new PagePoolCounters(1, 0, 0, 0, 0, 0, 1), pool.Stats);
        Assert.Equal(1, _environment.PagesAllocated);
        pool.Release(page);
        _environment.AssertNoLeaks();
    }

    /// <summary>An environment whose batched map refuses anything larger than one page (IOVA space or arena short).</summary>
    private sealed class NoBatches(DirectEnvironment inner) : IDriverEnvironment
    {
        public bool TryAllocatePage(out ulong page) => inner.TryAllocatePage(out page);

        public void FreePage(ulong page) => inner.FreePage(page);

        public void Read(ulong address, Span<byte> destination) => inner.Read(address, destination);

        public void Write(ulong address, ReadOnlySpan<byte> source) => inner.Write(address, source);

        public bool TryMap(ReadOnlySpan<ulong> pages, DmaDirection direction, out ulong iova) => inner.TryMap(pages, direction, out iova);

        public bool TryMapEach(ReadOnlySpan<ulong> pages, DmaDirection direction, Span<ulong> iovas) =>
            pages.Length == 1 && inner.TryMapEach(pages, direction, iovas);

        public void Unmap(ulong iova, int pages, DmaDirection direction) => inner.Unmap(iova, pages, direction);
    }
}
