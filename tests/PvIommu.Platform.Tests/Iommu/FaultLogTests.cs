using PvIommu.Platform.Iommu;
using PvIommu.Platform.Pci;

namespace PvIommu.Platform.Tests.Iommu;

/// <summary>The bounded fault log with VT-d primary-fault-overflow semantics (§7.2).</summary>
public sealed class FaultLogTests
{
    private static readonly Sbdf _device = new(0, 3, 0, 0);

    [Fact]
    public void Record_UpToCapacity_KeepsEveryRecordInOrder()
    {
        var log = new FaultLog(3);
        for (var i = 0; i < 3; i++)
        {
            Assert.True(log.Record(_device, (ulong)i << 12, DmaAccess.Write, FaultReason.NotMapped));
        }

        var records = log.Snapshot();
        Assert.Equal([1L, 2L, 3L], records.Select(r => r.Sequence));
        Assert.Equal(new FaultRecord(2, _device, 0x1000, DmaAccess.Write, FaultReason.NotMapped), records[1]);
        Assert.False(log.Overflow);
        Assert.Equal(3, log.Count);
    }

    [Fact]
    public void Record_WhenFull_SetsOverflowAndDrops()
    {
        var log = new FaultLog(2);
        log.Record(_device, 0, DmaAccess.Read, FaultReason.Blocked);
        log.Record(_device, 0, DmaAccess.Read, FaultReason.Blocked);

        Assert.False(log.Record(_device, 0x5000, DmaAccess.Read, FaultReason.BeyondWidth));
        Assert.True(log.Overflow);
        Assert.Equal(2, log.Count);
        Assert.Equal(1, log.Dropped);
        Assert.Equal(3, log.Detected);
    }

    [Fact]
    public void Drain_WhileOverflowed_KeepsDroppingUntilCleared()
    {
        var log = new FaultLog(1);
        log.Record(_device, 0, DmaAccess.Read, FaultReason.Blocked);
        log.Record(_device, 0, DmaAccess.Read, FaultReason.Blocked);

        Assert.Single(log.Drain());
        Assert.False(log.Record(_device, 0, DmaAccess.Read, FaultReason.Blocked));

        log.ClearOverflow();
        Assert.True(log.Record(_device, 0x7000, DmaAccess.Write, FaultReason.WriteNotPermitted));
        var record = Assert.Single(log.Snapshot());
        Assert.Equal(4, record.Sequence); // 2 and 3 were dropped: the gap shows it
        Assert.Equal(2, log.Recorded);
        Assert.Equal(2, log.Dropped);
    }

    [Fact]
    public void Snapshot_LeavesTheLogAlone()
    {
        var log = new FaultLog(4);
        log.Record(_device, 0, DmaAccess.Read, FaultReason.Blocked);

        log.Snapshot();

        Assert.Equal(1, log.Count);
    }

    [Fact]
    public void Constructor_ZeroCapacity_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new FaultLog(0));
    }

    [Fact]
    public void FaultReason_ValuesAreTheWireProtocolCodes()
    {
        Assert.Equal(1u, (uint)FaultReason.NotMapped);
        Assert.Equal(2u, (uint)FaultReason.ReadNotPermitted);
        Assert.Equal(3u, (uint)FaultReason.WriteNotPermitted);
        Assert.Equal(4u, (uint)FaultReason.Blocked);
        Assert.Equal(5u, (uint)FaultReason.BeyondWidth);
    }
}
