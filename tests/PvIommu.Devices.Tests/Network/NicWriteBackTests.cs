using PvIommu.Devices.Network;
using PvIommu.Devices.Tests.Support;
using PvIommu.Platform.Iommu;
using PvIommu.Platform.PageTables;
using static PvIommu.Devices.Tests.Support.RxRingBed;

namespace PvIommu.Devices.Tests.Network;

/// <summary>
/// Receive write-back bursts (<see cref="Nic.RxWriteBackThreshold"/>): completed descriptors are
/// held and written back together, never across the ring's end or a 4 KiB page, and a flush
/// writes back whatever is held.
/// </summary>
public sealed class NicWriteBackTests
{
    private readonly RxRingBed _ring = new(buffers: 32);
    private readonly DeviceDomain _domain;
    private readonly Nic _nic;

    public NicWriteBackTests()
    {
        _domain = _ring.Domain;
        _nic = _ring.Nic;
    }

    [Fact]
    public void Receive_ThresholdFour_WritesBackTheFourDescriptorsInOneWrite()
    {
        _ring.Start(Ring, 16, 8);
        _nic.RxWriteBackThreshold = 4;

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(RxOutcome.Delivered, _nic.Receive(Bed.Pattern(100, i)));
        }

        // The frames landed; their descriptors are held, so the driver sees no DD yet.
        Assert.Equal(Bed.Pattern(100, 2), _ring.Landed(2, 100));
        Assert.All(Enumerable.Range(0, 3), slot => Assert.False(_ring.DescriptorAt(Ring, slot).IsDone));
        Assert.Equal(3, _nic.RxHeldWriteBacks);
        Assert.Equal(0, _nic.Stats.RxFrames);

        Assert.Equal(RxOutcome.Delivered, _nic.Receive(Bed.Pattern(100, 3)));

        Assert.All(Enumerable.Range(0, 4), slot => Assert.Equal(
            new RxDescriptor(Buffer(slot), 100, RxStatus.DescriptorDone | RxStatus.EndOfPacket, RxErrors.None),
            _ring.DescriptorAt(Ring, slot)));
        Assert.Equal(0, _nic.RxHeldWriteBacks);
        Assert.Equal((4L, 400L), (_nic.Stats.RxFrames, _nic.Stats.RxBytes));

        // Four data writes and one write-back of four whole descriptors.
        Assert.Equal((5L, 400L + (4 * RxDescriptor.Size)), (_nic.Counters.WriteTransfers, _nic.Counters.BytesWritten));
    }

    [Fact]
    public void FlushRxWriteBack_WritesBackWhatIsHeldInOneWrite()
    {
        _ring.Start(Ring, 16, 8);
        _nic.RxWriteBackThreshold = 8;
        _nic.Receive(Bed.Pattern(60, 0));
        _nic.Receive(Bed.Pattern(70, 1));

        Assert.True(_nic.FlushRxWriteBack());

        Assert.Equal(60, _ring.DescriptorAt(Ring, 0).Length);
        Assert.Equal(70, _ring.DescriptorAt(Ring, 1).Length);
        Assert.True(_ring.DescriptorAt(Ring, 1).IsDone);
        Assert.False(_ring.DescriptorAt(Ring, 2).IsDone);
        Assert.Equal(3L, _nic.Counters.WriteTransfers);
        Assert.Equal(2, _nic.Stats.RxFrames);
        Assert.True(_nic.FlushRxWriteBack());
        Assert.Equal(3L, _nic.Counters.WriteTransfers);
    }

    [Fact]
    public void Receive_BurstReachesTheRingsEnd_WritesBackBeforeWrapping()
    {
        // A 6-slot ring: slots 4 and 5 are written back when slot 0's descriptor completes.
        _ring.Start(Ring, 6, 5);
        _nic.RxWriteBackThreshold = 4;
        for (var i = 0; i < 4; i++)
        {
            _nic.Receive(Bed.Pattern(64, i));
        }

        _ring.Post(Ring, 5, 1, _ => Buffer(5));
        _ring.Post(Ring, 0, 1, _ => Buffer(6));
        Assert.True(_nic.WriteRxTail(1));
        _nic.Receive(Bed.Pattern(64, 4));
        Assert.True(_ring.DescriptorAt(Ring, 3).IsDone);
        Assert.False(_ring.DescriptorAt(Ring, 4).IsDone);

        _nic.Receive(Bed.Pattern(64, 5));
        _nic.Receive(Bed.Pattern(64, 6));

        // Slots 4 and 5 went in one write when the ring wrapped; slot 0 is held.
        Assert.True(_ring.DescriptorAt(Ring, 4).IsDone);
        Assert.True(_ring.DescriptorAt(Ring, 5).IsDone);
        Assert.Equal(1, _nic.RxHeldWriteBacks);
        Assert.Equal(6, _nic.Stats.RxFrames);
    }

    [Fact]
    public void Receive_BurstReachesAPageEnd_WritesBackBeforeCrossingIt()
    {
        // The ring's last four slots of page 0x100 and the first of page 0x101.
        var ring = Ring + 0x1000 - (4 * RxDescriptor.Size);
        _ring.Start(ring, 8, 7);
        _nic.RxWriteBackThreshold = 8;
        for (var i = 0; i < 5; i++)
        {
            _nic.Receive(Bed.Pattern(64, i));
        }

        Assert.All(Enumerable.Range(0, 4), slot => Assert.True(_ring.DescriptorAt(ring, slot).IsDone));
        Assert.False(_ring.DescriptorAt(ring, 4).IsDone);
        Assert.Equal(1, _nic.RxHeldWriteBacks);
    }

    [Fact]
    public void Receive_WriteBackRefused_TheBurstsFramesCountAsErrors()
    {
        _ring.Start(Ring, 16, 8);
        _nic.RxWriteBackThreshold = 4;
        _domain.Unmap(0x100);
        _domain.Map(0x100, RxRingBed.RingFrame, 1, PteAccess.Read);

        var outcomes = Enumerable.Range(0, 4).Select(i => _nic.Receive(Bed.Pattern(64, i))).ToArray();

        Assert.Equal([RxOutcome.Delivered, RxOutcome.Delivered, RxOutcome.Delivered, RxOutcome.WriteBackFault], outcomes);
        Assert.All(Enumerable.Range(0, 4), slot => Assert.False(_ring.DescriptorAt(Ring, slot).IsDone));
        Assert.Equal((0L, 4L), (_nic.Stats.RxFrames, _nic.Stats.RxDmaErrors));
        Assert.Equal(FaultReason.WriteNotPermitted, _nic.Counters.LastFault.Reason);
    }

    [Fact]
    public void Reset_DropsTheHeldWriteBacks()
    {
        _ring.Start(Ring, 16, 8);
        _nic.RxWriteBackThreshold = 4;
        _nic.Receive(Bed.Pattern(64, 0));
        _nic.Receive(Bed.Pattern(64, 1));

        _nic.Reset();

        Assert.Equal(0, _nic.RxHeldWriteBacks);
        Assert.True(_nic.FlushRxWriteBack());
        Assert.False(_ring.DescriptorAt(Ring, 0).IsDone);
        Assert.Equal(0, _nic.Stats.RxFrames);
    }

    [Fact]
    public void RxWriteBackThreshold_Lowered_WritesBackWhatReachesIt()
    {
        _ring.Start(Ring, 16, 8);
        _nic.RxWriteBackThreshold = 8;
        _nic.Receive(Bed.Pattern(64, 0));
        _nic.Receive(Bed.Pattern(64, 1));

        _nic.RxWriteBackThreshold = 2;

        Assert.True(_ring.DescriptorAt(Ring, 1).IsDone);
        Assert.Equal(0, _nic.RxHeldWriteBacks);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(Nic.RxDescriptorCache + 1)]
    public void RxWriteBackThreshold_OutOfRange_IsRefused(int threshold)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _nic.RxWriteBackThreshold = threshold);
        Assert.Equal(1, _nic.RxWriteBackThreshold);
    }
}
