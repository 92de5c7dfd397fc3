using PvIommu.Devices.Network;
using PvIommu.Devices.Tests.Support;
using PvIommu.Platform.Iommu;
using static PvIommu.Devices.Tests.Support.RxRingBed;

namespace PvIommu.Devices.Tests.Network;

/// <summary>
/// The receive descriptor cache: posted descriptors fetched in bursts of up to
/// <see cref="Nic.RxDescriptorCache"/>, bounded by the ring's end, the posted ones and the head
/// descriptor's page, and forgotten when the driver takes descriptors back or resets the ring.
/// </summary>
public sealed class NicDescriptorCacheTests
{
    private readonly RxRingBed _ring = new(buffers: 64);
    private readonly DeviceDomain _domain;
    private readonly Nic _nic;

    public NicDescriptorCacheTests()
    {
        _domain = _ring.Domain;
        _nic = _ring.Nic;
    }

    [Fact]
    public void Receive_FortyPosted_FetchesThemInTwoReads()
    {
        _ring.Start(Ring, 64, 40);

        for (var i = 0; i < 40; i++)
        {
            Assert.Equal(RxOutcome.Delivered, _nic.Receive(Bed.Pattern(100, i)));
        }

        var dma = _nic.Counters;
        Assert.Equal((2L, 40L * RxDescriptor.Size), (dma.ReadTransfers, dma.BytesRead));
        Assert.Equal(Bed.Pattern(100, 0), _ring.Landed(0, 100));
        Assert.Equal(Bed.Pattern(100, 31), _ring.Landed(31, 100));
        Assert.Equal(Bed.Pattern(100, 32), _ring.Landed(32, 100));
        Assert.Equal(Bed.Pattern(100, 39), _ring.Landed(39, 100));
    }

    [Fact]
    public void Receive_RingAcrossAPage_FetchesUpToThePageEndFirst()
    {
        // Three descriptors before the page boundary, four after it.
        var ring = Ring + 4096 - (3 * RxDescriptor.Size);
        _ring.Start(ring, 8, 7);

        for (var i = 0; i < 7; i++)
        {
            Assert.Equal(RxOutcome.Delivered, _nic.Receive(Bed.Pattern(64, i)));
            Assert.Equal(i < 3 ? 1L : 2L, _nic.Counters.ReadTransfers);
        }

        Assert.Equal(Bed.Pattern(64, 6), _ring.Landed(6));
    }

    [Fact]
    public void Receive_PostedAcrossTheRingEnd_FetchesToTheEndThenFromSlotZero()
    {
        _ring.Start(Ring, 8, 7);
        for (var i = 0; i < 7; i++)
        {
            _nic.Receive(Bed.Pattern(64, i));
        }

        _ring.Post(Ring, 7, 1, _ => Buffer(20));
        _ring.Post(Ring, 0, 5, slot => Buffer(21 + slot));
        _nic.WriteRxTail(5);
        for (var i = 0; i < 6; i++)
        {
            Assert.Equal(RxOutcome.Delivered, _nic.Receive(Bed.Pattern(64, 100 + i)));
        }

        Assert.Equal(3L, _nic.Counters.ReadTransfers);
        Assert.Equal(Bed.Pattern(64, 100), _ring.Landed(20));
        Assert.Equal(Bed.Pattern(64, 105), _ring.Landed(25));
        Assert.Equal(5, _nic.RxHead);
    }

    [Fact]
    public void Receive_DescriptorRewrittenAfterItWasFetched_UsesTheFetchedBuffer()
    {
        // A posted descriptor belongs to the device: one the driver changes after the device has
        // prefetched it is not read again (the driver broke the ring protocol).
        _ring.Start(Ring, 16, 2);
        _nic.Receive(Bed.Pattern(64, 1));

        _ring.Post(Ring, 1, 1, _ => Buffer(9));
        Assert.Equal(RxOutcome.Delivered, _nic.Receive(Bed.Pattern(64, 2)));

        Assert.Equal(Bed.Pattern(64, 2), _ring.Landed(1));
        Assert.Equal(new byte[64], _ring.Landed(9));
    }

    [Fact]
    public void Receive_TailMovedBack_FetchesTheReturnedSlotsAnew()
    {
        _ring.Start(Ring, 16, 8);
        _nic.Receive(Bed.Pattern(64, 1));

        // The driver takes slots 3..7 back, and reposts slot 1 with another buffer.
        Assert.True(_nic.WriteRxTail(3));
        _ring.Post(Ring, 1, 1, _ => Buffer(9));
        Assert.Equal(RxOutcome.Delivered, _nic.Receive(Bed.Pattern(64, 2)));
        Assert.Equal(RxOutcome.Delivered, _nic.Receive(Bed.Pattern(64, 3)));

        Assert.Equal(Bed.Pattern(64, 2), _ring.Landed(9));
        Assert.Equal(Bed.Pattern(64, 3), _ring.Landed(2));
        Assert.Equal(RxOutcome.NoDescriptor, _nic.Receive(Bed.Pattern(64, 4)));
        Assert.Equal(2L, _nic.Counters.ReadTransfers);
    }

    [Fact]
    public void Receive_AfterResetAndReconfigure_ReadsTheNewRing()
    {
        _ring.Start(Ring, 16, 4);
        _nic.Receive(Bed.Pattern(64, 1));

        _nic.Reset();
        _nic.ConfigureRx(Ring, 16, 4096);
        _ring.Post(Ring, 0, 1, _ => Buffer(5));
        _nic.WriteRxTail(1);

        Assert.Equal(RxOutcome.Delivered, _nic.Receive(Bed.Pattern(64, 2)));
        Assert.Equal(Bed.Pattern(64, 2), _ring.Landed(5));
        Assert.Equal(new byte[64], _ring.Landed(1));
    }

    [Fact]
    public void Receive_FetchRefused_FaultsOnceAtTheHeadsDescriptorAndKeepsTheHead()
    {
        _ring.Start(Ring, 16, 4);
        _domain.Unmap(0x100);

        Assert.Equal(RxOutcome.DescriptorFault, _nic.Receive(Bed.Pattern(64, 1)));

        var dma = _nic.Counters;
        Assert.Equal((1L, 0L), (dma.Faults, dma.BytesRead));
        Assert.Equal(FaultReason.NotMapped, dma.LastFault.Reason);
        Assert.Equal(Ring, dma.LastFault.FaultAddress);
        Assert.Equal(0, _nic.RxHead);
    }
}
