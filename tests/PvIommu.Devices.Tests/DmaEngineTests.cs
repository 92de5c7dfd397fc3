using PvIommu.Devices.Tests.Support;
using PvIommu.Platform.Iommu;
using PvIommu.Platform.PageTables;

namespace PvIommu.Devices.Tests;

/// <summary>The DMA engine every device uses: real bytes, counts, faults as values, TLP splitting.</summary>
public sealed class DmaEngineTests
{
    private readonly Bed _bed = new();
    private readonly DeviceDomain _domain;
    private readonly DmaEngine _engine;

    public DmaEngineTests()
    {
        _domain = _bed.Attach(Bed.Nic);
        _engine = new DmaEngine(_bed.Machine, Bed.Nic);
        _domain.Map(0x10, Bed.SpareFirst, 2);
    }

    [Fact]
    public void Write_MappedFrames_MovesTheBytesAndCountsThem()
    {
        var data = Bed.Pattern(5000, 1);

        var result = _engine.Write(0x10_000 + 100, data);

        Assert.True(result.IsOk);
        Assert.Equal(data, _bed.Peek((Bed.SpareFirst << 12) + 100, data.Length));
        Assert.Equal(new DeviceCounters(0, 1, 0, 5000, 0, 0, DmaResult.Ok), _engine.Counters);
    }

    [Fact]
    public void Read_MappedFrames_ReadsWhatMemoryHolds()
    {
        var data = Bed.Pattern(300, 2);
        _bed.Poke((Bed.SpareFirst << 12) + 4000, data);
        var back = new byte[300];

        Assert.True(_engine.Read(0x10_000 + 4000, back).IsOk);

        Assert.Equal(data, back);
        Assert.Equal(300, _engine.Counters.BytesRead);
        Assert.Equal(1, _engine.Counters.ReadTransfers);
    }

    [Fact]
    public void Read_UnmappedAddress_ReturnsTheFaultAndRecordsIt()
    {
        var result = _engine.Read(0x99_000, new byte[8]);

        Assert.Equal(FaultReason.NotMapped, result.Reason);
        Assert.Equal(0x99_000UL, result.FaultAddress);
        var counters = _engine.Counters;
        Assert.Equal((1L, 1L, 0L), (counters.ReadTransfers, counters.ReadFaults, counters.BytesRead));
        Assert.Equal(result, counters.LastFault);
        Assert.Equal(1, _bed.Machine.TotalFaults);
    }

    [Fact]
    public void Write_ReadOnlyMapping_FaultsAndLeavesMemoryAlone()
    {
        _domain.Map(0x20, Bed.SpareFirst + 5, 1, PteAccess.Read);
        var snapshot = new Snapshot(_bed.Memory, [Bed.SpareFirst + 5]);

        var result = _engine.Write(0x20_000, Bed.Pattern(64, 3));

        Assert.Equal(FaultReason.WriteNotPermitted, result.Reason);
        Assert.Empty(snapshot.Changed());
        Assert.Equal(1, _engine.Counters.WriteFaults);
        Assert.Equal(0, _engine.Counters.BytesWritten);
    }

    [Fact]
    public void Write_TransferStraddlingAnUnmappedFrame_MovesNothing()
    {
        var snapshot = new Snapshot(_bed.Memory, [Bed.SpareFirst + 1]);

        var result = _engine.Write(0x11_000 + 4000, new byte[200]);

        Assert.Equal(FaultReason.NotMapped, result.Reason);
        Assert.Equal(0x12_000UL, result.FaultAddress);
        Assert.Empty(snapshot.Changed());
    }

    [Fact]
    public void Dma_DeviceWithNoContext_IsBlocked()
    {
        var gpu = new DmaEngine(_bed.Machine, Bed.Gpu);

        Assert.Equal(FaultReason.Blocked, gpu.Write(0x10_000, [1]).Reason);
        Assert.Equal(FaultReason.Blocked, gpu.Counters.LastFault.Reason);
    }

    [Fact]
    public void MaxPayload_SplitsAtAlignedBoundaries_AndTellsTheObserverEachPiece()
    {
        var observer = new RecordingObserver();
        _engine.MaxPayload = 256;
        _engine.Observer = observer;

        Assert.True(_engine.Write(0x10_000 + 100, Bed.Pattern(1000, 4)).IsOk);

        Assert.Equal([(0x10_064UL, 156), (0x10_100UL, 256), (0x10_200UL, 256), (0x10_300UL, 256), (0x10_400UL, 76)],
            observer.Transfers.Select(t => (t.BusAddress, t.Length)));
        Assert.All(observer.Transfers, t => Assert.Equal((Bed.Nic, DmaAccess.Write), (t.Device, t.Access)));
        Assert.Equal(5, _engine.Counters.WriteTransfers);
        Assert.Equal(1000, _engine.Counters.BytesWritten);
        Assert.Equal(Bed.Pattern(1000, 4), _bed.Peek((Bed.SpareFirst << 12) + 100, 1000));
    }

    [Fact]
    public void MaxPayload_FaultHalfway_KeepsThePiecesBeforeIt()
    {
        _engine.MaxPayload = 1024;

        var result = _engine.Write(0x11_000, Bed.Pattern(8192, 5));

        Assert.Equal(0x12_000UL, result.FaultAddress);
        Assert.Equal((5L, 4096L, 1L), (_engine.Counters.WriteTransfers, _engine.Counters.BytesWritten, _engine.Counters.WriteFaults));
        Assert.Equal(Bed.Pattern(8192, 5)[..4096], _bed.Peek((Bed.SpareFirst + 1) << 12, 4096));
    }

    [Theory]
    [InlineData(32)]
    [InlineData(100)]
    [InlineData(8192)]
    public void MaxPayload_NotAPowerOfTwoInRange_Throws(int value)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _engine.MaxPayload = value);
    }

    [Fact]
    public void ReadUInt64_ReadsLittleEndian()
    {
        _bed.Poke(Bed.SpareFirst << 12, [1, 2, 3, 4, 5, 6, 7, 8]);

        Assert.True(_engine.ReadUInt64(0x10_000, out var value).IsOk);

        Assert.Equal(0x0807060504030201UL, value);
    }

    private sealed class RecordingObserver : IDmaObserver
    {
        public List<DmaTransfer> Transfers { get; } = [];

        public void OnTransfer(in DmaTransfer transfer) => Transfers.Add(transfer);
    }
}
