using PvIommu.Devices.Network;
using PvIommu.Devices.Tests.Support;
using PvIommu.Platform.Iommu;

namespace PvIommu.Devices.Tests.Network;

/// <summary>
/// The receive descriptor cache: posted descriptors fetched in bursts of up to
/// <see cref="Nic.RxDescriptorCache"/>, bounded by the ring's end, the posted ones and the head
/// descriptor's page, and forgotten when the driver takes descriptors back or resets the ring.
/// </summary>
public sealed class NicDescriptorCacheTests
{
    private const ulong RxRing = RxRingBed.Ring;
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
        Start(RxRing, 64, 40);

        for (var i = 0; i < 40; i++)
        {
            Assert.Equal(RxOutcome.Delivered, _nic.Receive(Bed.Pattern(100, i)));
        }

        var dma = _nic.Counters;
        Assert.Equal((2L, 40L * RxDescriptor.Size), (dma.ReadTransfers, dma.BytesRead));
        Assert.Equal(Bed.Pattern(100, 0), Landed(0, 100));
        Assert.Equal(Bed.Pattern(100, 31), Landed(31, 100));
        Assert.Equal(Bed.Pattern(100, 32), Landed(32, 100));
        Assert.Equal(Bed.Pattern(100, 39), Landed(39, 100));
    }

    [Fact]
    public void Receive_RingAcrossAPage_FetchesUpToThePageEndFirst()
    {
        // Three descriptors before the page boundary, four after it.
        var ring = RxRing + 4096 - (3 * RxDescriptor.Size);
        Start(ring, 8, 7);

        for (var i = 0; i < 7; i++)
        {
            Assert.Equal(RxOutcome.Delivered, _nic.Receive(Bed.Pattern(64, i)));
            Assert.Equal(i < 3 ? 1L : 2L, _nic.Counters.ReadTransfers);
        }

        Assert.Equal(Bed.Pattern(64, 6), Landed(6));
    }

    [Fact]
    public void Receive_PostedAcrossTheRingEnd_FetchesToTheEndThenFromSlotZero()
    {
        Start(RxRing, 8, 7);
        for (var i = 0; i < 7; i++)
        {
            _nic.Receive(Bed.Pattern(64, i));
        }

        Post(RxRing, 7, 1, _ => Buffer(20));
        Post(RxRing, 0, 5, slot => Buffer(21 + slot));
        _nic.WriteRxTail(5);
        for (var i = 0; i < 6; i++)
        {
            Assert.Equal(RxOutcome.Delivered, _nic.Receive(Bed.Pattern(64, 100 + i)));
        }

        Assert.Equal(3L, _nic.Counters.ReadTransfers);
        Assert.Equal(Bed.Pattern(64, 100), Landed(20));
        Assert.Equal(Bed.Pattern(64, 105), Landed(25));
        Assert.Equal(5, _nic.RxHead);
    }

    [Fact]
    public void Receive_DescriptorRewrittenAfterItWasFetched_UsesTheFetchedBuffer()
    {
        // A posted descriptor belongs to the device: one the driver changes after the device has
        // prefetched it is not read again (the driver broke the ring protocol).
        Start(RxRing, 16, 2);
        _nic.Receive(Bed.Pattern(64, 1));

        Post(RxRing, 1, 1, _ => Buffer(9));
        Assert.Equal(RxOutcome.Delivered, _nic.Receive(Bed.Pattern(64, 2)));

        Assert.Equal(Bed.Pattern(64, 2), Landed(1));
        Assert.Equal(new byte[64], Landed(9));
    }

    [Fact]
    public void Receive_TailMovedBack_FetchesTheReturnedSlotsAnew()
    {
        Start(RxRing, 16, 8);
        _nic.Receive(Bed.Pattern(64, 1));

        // The driver takes slots 3..7 back, and reposts slot 1 with another buffer.
        Assert.True(_nic.WriteRxTail(3));
        Post(RxRing, 1, 1, _ => Buffer(9));
        Assert.Equal(RxOutcome.Delivered, _nic.Receive(Bed.Pattern(64, 2)));
        Assert.Equal(RxOutcome.Delivered, _nic.Receive(Bed.Pattern(64, 3)));

        Assert.Equal(Bed.Pattern(64, 2), Landed(9));
        Assert.Equal(Bed.Pattern(64, 3), Landed(2));
        Assert.Equal(RxOutcome.NoDescriptor, _nic.Receive(Bed.Pattern(64, 4)));
        Assert.Equal(2L, _nic.Counters.ReadTransfers);
    }

    [Fact]
    public void Receive_AfterResetAndReconfigure_ReadsTheNewRing()
    {
        Start(RxRing, 16, 4);
        _nic.Receive(Bed.Pattern(64, 1));

        _nic.Reset();
        _nic.ConfigureRx(RxRing, 16, 4096);
        Post(RxRing, 0, 1, _ => Buffer(5));
        _nic.WriteRxTail(1);

        Assert.Equal(RxOutcome.Delivered, _nic.Receive(Bed.Pattern(64, 2)));
        Assert.Equal(Bed.Pattern(64, 2), Landed(5));
        Assert.Equal(new byte[64], Landed(1));
    }

    [Fact]
    public void Receive_FetchRefused_FaultsOnceAtTheHeadsDescriptorAndKeepsTheHead()
    {
        Start(RxRing, 16, 4);
        _domain.Unmap(0x100);

        Assert.Equal(RxOutcome.DescriptorFault, _nic.Receive(Bed.Pattern(64, 1)));

        var dma = _nic.Counters;
        Assert.Equal((1L, 0L), (dma.Faults, dma.BytesRead));
        Assert.Equal(FaultReason.NotMapped, dma.LastFault.Reason);
        Assert.Equal(RxRing, dma.LastFault.FaultAddress);
        Assert.Equal(0, _nic.RxHead);
    }

    private static ulong Buffer(int i) => RxRingBed.Buffer(i);

    private void Start(ulong ring, int descriptors, int posted) => _ring.Start(ring, descriptors, posted);

    private void Post(ulong ring, int first, int count, Func<int, ulong> buffer) => _ring.Post(ring, first, count, buffer);

    private byte[] Landed(int buffer, int length = 64) => _ring.Landed(buffer, length);
}
