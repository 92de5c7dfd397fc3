using PvIommu.Devices.Copier;
using PvIommu.Devices.Tests.Support;
using PvIommu.Platform.Iommu;

namespace PvIommu.Devices.Tests.Copier;

/// <summary>The bulk copier: chunked copies between host IOVA ranges and its own memory.</summary>
public sealed class BulkCopierTests
{
    // Pinned host memory: dfn 0x400.. → SpareFirst.. (1 MiB source), dfn 0x800.. → SpareFirst + 0x400.. (destination).
    private const ulong Source = 0x400_000;
    private const ulong Destination = 0x800_000;
    private const ulong SourceFrame = Bed.SpareFirst;
    private const ulong DestinationFrame = Bed.SpareFirst + 0x400;
    private readonly Bed _bed = new();
    private readonly DeviceDomain _domain;
    private readonly BulkCopier _copier;

    public BulkCopierTests()
    {
        _domain = _bed.Attach(Bed.Gpu);
        _domain.Map(Source >> 12, SourceFrame, 256);
        _domain.Map(Destination >> 12, DestinationFrame, 256);
        _copier = new BulkCopier(_bed.Machine, Bed.Gpu, 1UL << 30);
    }

    [Fact]
    public void Run_HostToHost_CopiesEveryByteInChunks()
    {
        var data = Bed.Pattern(1 << 20, 1);
        _bed.Poke(SourceFrame << 12, data);

        var completion = _copier.Run(CopyCommand.HostToHost(Source, Destination, 1 << 20));

        Assert.Equal((CopyStatus.Done, 1UL << 20), (completion.Status, completion.BytesCopied));
        Assert.Equal(data, _bed.Peek(DestinationFrame << 12, 1 << 20));
        Assert.Equal(new CopierCounters(1, 0, 16, 1 << 20), _copier.Stats);
        Assert.Equal(new DeviceCounters(16, 16, 1 << 20, 1 << 20, 0, 0, DmaResult.Ok), _copier.Counters);
    }

    [Fact]
    public void UploadThenDownload_RoundTripsThroughDeviceMemory()
    {
        var data = Bed.Pattern(300_000, 2);
        _bed.Poke(SourceFrame << 12, data);

        Assert.Equal(CopyStatus.Done, _copier.Run(CopyCommand.HostToLocal(Source, 0x1234_5678, 300_000)).Status);
        Assert.Equal(CopyStatus.Done, _copier.Run(CopyCommand.LocalToHost(0x1234_5678, Destination + 100, 300_000)).Status);

        Assert.Equal(data, _bed.Peek((DestinationFrame << 12) + 100, 300_000));
        var local = new byte[300_000];
        _copier.Local.Read(0x1234_5678, local);
        Assert.Equal(data, local);
        Assert.Equal((300_000L, 300_000L), (_copier.Counters.BytesRead, _copier.Counters.BytesWritten));
    }

    [Fact]
    public void Step_MovesAtMostTheGivenChunks_AndFinishesCommandsInOrder()
    {
        var first = _copier.Submit(CopyCommand.HostToHost(Source, Destination, 200_000));
        var second = _copier.Submit(CopyCommand.HostToLocal(Source, 0, 65536));

        Assert.Equal(2, _copier.Step(2));
        Assert.Equal(0, _copier.Completions);
        Assert.Equal(2, _copier.Step(2));
        Assert.True(_copier.TryTakeCompletion(out var done));
        Assert.Equal((first, CopyStatus.Done, 200_000UL), (done.Id, done.Status, done.BytesCopied));
        Assert.Equal(1, _copier.Pending);
        Assert.Equal(1, _copier.Step(10));
        Assert.True(_copier.TryTakeCompletion(out done));
        Assert.Equal(second, done.Id);
        Assert.Equal(0, _copier.Step(10));
    }

    [Fact]
    public void Run_DestinationRunsOffTheMapping_StopsAtTheFaultWithWholeChunksCopied()
    {
        var data = Bed.Pattern(1 << 20, 3);
        _bed.Poke(SourceFrame << 12, data);
        var beyond = new Snapshot(_bed.Memory, Snapshot.Sample(DestinationFrame + 256, 0x100, 8));

        var completion = _copier.Run(CopyCommand.HostToHost(Source, Destination + (512 << 10), 1 << 20));

        Assert.Equal(CopyStatus.DmaFault, completion.Status);
        Assert.Equal(512UL << 10, completion.BytesCopied);
        Assert.Equal(new DmaResult(FaultReason.NotMapped, Destination + (1 << 20)), completion.Fault);
        Assert.Equal(data[..(512 << 10)], _bed.Peek((DestinationFrame + 128) << 12, 512 << 10));
        Assert.Empty(beyond.Changed());
        Assert.Equal((9L, 9L, 1L), (_copier.Counters.ReadTransfers, _copier.Counters.WriteTransfers, _copier.Counters.WriteFaults));
        Assert.Equal(new CopierCounters(1, 1, 8, 512 << 10), _copier.Stats);
    }

    [Fact]
    public void Run_LocalRangeOutsideDeviceMemory_CopiesNothing()
    {
        var completion = _copier.Run(CopyCommand.HostToLocal(Source, (1UL << 30) - 10, 100));

        Assert.Equal(CopyStatus.LocalRangeInvalid, completion.Status);
        Assert.Equal(0, _copier.Counters.Transfers);
    }

    [Fact]
    public void Run_OverSuperpageMappedPinnedMemory_Copies4MiB()
    {
        // GPU-style pinning: guest RAM mapped in 2 MiB leaves.
        _domain.Map(0x40_000, Bed.SpareFirst + 0x2000, 1024, maxLeafLevel: 2);
        _domain.Map(0x80_000, Bed.SpareFirst + 0x2400, 1024, maxLeafLevel: 2);
        var data = Bed.Pattern(4 << 20, 4);
        _bed.Poke((Bed.SpareFirst + 0x2000) << 12, data);
        var copier = new BulkCopier(_bed.Machine, Bed.Gpu, 1 << 20, chunkBytes: 1 << 20);

        Assert.Equal(CopyStatus.Done, copier.Run(CopyCommand.HostToHost(0x40_000_000, 0x80_000_000, 4 << 20)).Status);

        Assert.Equal(data, _bed.Peek((Bed.SpareFirst + 0x2400) << 12, 4 << 20));
        Assert.Equal(8, copier.Counters.Transfers);
    }

    [Fact]
    public void Run_ZeroLength_CompletesAtOnce()
    {
        Assert.Equal(CopyStatus.Done, _copier.Run(CopyCommand.HostToHost(Source, Destination, 0)).Status);
        Assert.Equal(0, _copier.Counters.Transfers);
    }
}
