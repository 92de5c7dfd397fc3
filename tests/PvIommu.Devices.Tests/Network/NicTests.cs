using PvIommu.Devices.Network;
using PvIommu.Devices.Tests.Support;
using PvIommu.Platform.Iommu;
using PvIommu.Platform.PageTables;

namespace PvIommu.Devices.Tests.Network;

/// <summary>The NIC's ring protocol with descriptors written by hand (no driver).</summary>
public sealed class NicTests
{
    // IOVA layout: RX ring at dfn 0x100, TX ring at dfn 0x101, buffers at dfn 0x200 + i.
    private const ulong RxRing = 0x100_000;
    private const ulong TxRing = 0x101_000;
    private const ulong RxRingFrame = Bed.SpareFirst;
    private const ulong TxRingFrame = Bed.SpareFirst + 1;
    private const ulong BufferFrames = Bed.SpareFirst + 0x100;
    private readonly Bed _bed = new();
    private readonly DeviceDomain _domain;
    private readonly Nic _nic;

    public NicTests()
    {
        _domain = _bed.Attach(Bed.Nic);
        _domain.Map(0x100, RxRingFrame, 2);
        _domain.Map(0x200, BufferFrames, 16);
        _nic = new Nic(_bed.Machine, Bed.Nic);
        _nic.ConfigureRx(RxRing, 8, 2048);
        _nic.ConfigureTx(TxRing, 8);
    }

    [Fact]
    public void Receive_PostedBuffer_WritesTheFrameAndWritesBackTheDescriptor()
    {
        PostRx(0, Buffer(0));
        Assert.True(_nic.WriteRxTail(1));
        var frame = Bed.Pattern(1514, 1);

        Assert.Equal(RxOutcome.Delivered, _nic.Receive(frame));

        Assert.Equal(frame, _bed.Peek(BufferFrames << 12, frame.Length));
        Assert.Equal(
            new RxDescriptor(Buffer(0), 1514, RxStatus.DescriptorDone | RxStatus.EndOfPacket, RxErrors.None),
            RxDescriptorAt(0));
        Assert.Equal(1, _nic.RxHead);
        Assert.Equal(new NicCounters(1, 1514, 0, 0, 0, 0, 0, 0, 0), _nic.Stats);
        var dma = _nic.Counters;
        // The descriptor is read whole (the cache's burst) and written back whole, its address as fetched.
        Assert.Equal((1L, 2L, 16L, 1514L + 16, 0L), (dma.ReadTransfers, dma.WriteTransfers, dma.BytesRead, dma.BytesWritten, dma.Faults));
    }

    [Fact]
    public void Receive_NothingPosted_CountsAMissAndDoesNoDma()
    {
        Assert.Equal(RxOutcome.NoDescriptor, _nic.Receive(new byte[60]));

        Assert.Equal(1, _nic.Stats.RxMissed);
        Assert.Equal(0, _nic.Counters.Transfers);
    }

    [Fact]
    public void Receive_FrameLargerThanTheBuffer_IsDropped()
    {
        PostRx(0, Buffer(0));
        _nic.WriteRxTail(1);

        Assert.Equal(RxOutcome.Oversize, _nic.Receive(new byte[2049]));

        Assert.Equal(1, _nic.Stats.RxOversize);
        Assert.Equal(0, _nic.RxHead);
    }

    [Fact]
    public void Receive_Disabled_DropsSilently()
    {
        _nic.Reset();

        Assert.Equal(RxOutcome.Disabled, _nic.Receive(new byte[60]));
        Assert.False(_nic.RxEnabled);
    }

    [Fact]
    public void Receive_BufferNotMapped_RecordsTheFaultFlagsRxeAndChangesNoMemory()
    {
        PostRx(0, 0x300_000);
        _nic.WriteRxTail(1);
        var snapshot = new Snapshot(_bed.Memory, Snapshot.Sample(Bed.SpareFirst, 0x1000, 16));

        Assert.Equal(RxOutcome.DataFault, _nic.Receive(Bed.Pattern(100, 2)));

        var descriptor = RxDescriptorAt(0);
        Assert.Equal(RxErrors.RxDataError, descriptor.Errors);
        Assert.True(descriptor.IsDone);
        Assert.Equal([RxRingFrame], snapshot.Changed());
        Assert.Equal(FaultReason.NotMapped, _nic.Counters.LastFault.Reason);
        Assert.Equal(0x300_000UL, _nic.Counters.LastFault.FaultAddress);
        Assert.Equal(1, _nic.Stats.RxDmaErrors);
        Assert.Equal(1, _nic.RxHead);
    }

    [Fact]
    public void Receive_RingNotReadable_DropsTheFrameAndRetriesTheSameDescriptor()
    {
        PostRx(0, Buffer(0));
        _nic.WriteRxTail(1);
        _domain.Unmap(0x100);

        Assert.Equal(RxOutcome.DescriptorFault, _nic.Receive(new byte[60]));
        Assert.Equal(0, _nic.RxHead);

        _domain.Map(0x100, RxRingFrame);
        Assert.Equal(RxOutcome.Delivered, _nic.Receive(new byte[60]));
        Assert.Equal(1, _nic.RxHead);
    }

    [Fact]
    public void Receive_RingReadOnly_DataLandsButTheWriteBackFaults()
    {
        PostRx(0, Buffer(0));
        _nic.WriteRxTail(1);
        _domain.Unmap(0x100);
        _domain.Map(0x100, RxRingFrame, 1, PteAccess.Read);

        Assert.Equal(RxOutcome.WriteBackFault, _nic.Receive(Bed.Pattern(64, 3)));

        Assert.False(RxDescriptorAt(0).IsDone);
        Assert.Equal(Bed.Pattern(64, 3), _bed.Peek(BufferFrames << 12, 64));
        Assert.Equal(FaultReason.WriteNotPermitted, _nic.Counters.LastFault.Reason);
    }

    [Fact]
    public void Receive_ManyFrames_WrapsTheRingAndFillsEachPostedBuffer()
    {
        var next = 0;
        for (var i = 0; i < 50; i++)
        {
            // The driver reposts the slot the device just finished, keeping 7 of 8 posted.
            PostRx(next, Buffer(next));
            next = (next + 1) % 8;
            _nic.WriteRxTail(next);
            if (i >= 6)
            {
                var slot = i - 6;
                Assert.Equal(RxOutcome.Delivered, _nic.Receive(Bed.Pattern(100 + i, i)));
                Assert.Equal(Bed.Pattern(100 + i, i), _bed.Peek((BufferFrames + (ulong)(slot % 8)) << 12, 100 + i));
            }
        }

        Assert.Equal(44, _nic.Stats.RxFrames);
        Assert.Equal(44 % 8, _nic.RxHead);
    }

    [Fact]
    public void Transmit_FragmentedFrame_SendsItWholeAndWritesBackDd()
    {
        var frame = Bed.Pattern(3000, 4);
        _bed.Poke(BufferFrames << 12, frame.AsSpan(0, 128));
        _bed.Poke((BufferFrames + 1) << 12, frame.AsSpan(128));
        PostTx(0, new TxDescriptor(Buffer(0), 128, TxCommand.ReportStatus, TxStatus.None));
        PostTx(1, new TxDescriptor(Buffer(1), 2872, TxCommand.ReportStatus | TxCommand.EndOfPacket, TxStatus.None));
        _nic.WriteTxTail(2);
        var wire = new List<byte[]>();

        Assert.Equal(1, _nic.Transmit(16, f => wire.Add(f.ToArray())));

        Assert.Equal(frame, Assert.Single(wire));
        Assert.True(TxDescriptorAt(0).IsDone);
        Assert.True(TxDescriptorAt(1).IsDone);
        Assert.Equal(2, _nic.TxHead);
        Assert.Equal((1L, 3000L), (_nic.Stats.TxFrames, _nic.Stats.TxBytes));
    }

    [Fact]
    public void Transmit_EopNotYetPosted_WaitsForTheRestOfTheFrame()
    {
        PostTx(0, new TxDescriptor(Buffer(0), 100, TxCommand.ReportStatus, TxStatus.None));
        PostTx(1, new TxDescriptor(Buffer(1), 100, TxCommand.ReportStatus | TxCommand.EndOfPacket, TxStatus.None));
        _nic.WriteTxTail(1);

        Assert.Equal(0, _nic.Transmit(16, null));
        _nic.WriteTxTail(2);
        Assert.Equal(1, _nic.Transmit(16, null));

        Assert.Equal(200, _nic.Stats.TxBytes);
    }

    [Fact]
    public void Transmit_FragmentNotMapped_DropsTheFrameButCompletesItsDescriptors()
    {
        PostTx(0, new TxDescriptor(0x300_000, 100, TxCommand.ReportStatus | TxCommand.EndOfPacket, TxStatus.None));
        _nic.WriteTxTail(1);

        Assert.Equal(0, _nic.Transmit(16, _ => Assert.Fail("a broken frame reached the wire")));

        Assert.True(TxDescriptorAt(0).IsDone);
        Assert.Equal(1, _nic.Stats.TxDmaErrors);
        Assert.Equal(FaultReason.NotMapped, _nic.Counters.LastFault.Reason);
    }

    [Fact]
    public void Transmit_Budget_LimitsDescriptorsPerStep()
    {
        for (var i = 0; i < 5; i++)
        {
            PostTx(i, new TxDescriptor(Buffer(i), 60, TxCommand.ReportStatus | TxCommand.EndOfPacket, TxStatus.None));
        }

        _nic.WriteTxTail(5);

        Assert.Equal(2, _nic.Transmit(2, null));
        Assert.Equal(3, _nic.Transmit(100, null));
        Assert.Equal(5, _nic.TxHead);
    }

    [Fact]
    public void WriteTail_OutsideTheRing_IsIgnoredAndCounted()
    {
        Assert.False(_nic.WriteRxTail(8));
        Assert.False(_nic.WriteTxTail(-1));

        Assert.Equal(0, _nic.RxTail);
        Assert.Equal(2, _nic.Stats.InvalidTailWrites);
    }

    [Fact]
    public void Descriptors_EncodeTheE1000Layout()
    {
        var bytes = new byte[16];
        new RxDescriptor(0x1122334455667788, 0x99AA, RxStatus.DescriptorDone | RxStatus.EndOfPacket, RxErrors.RxDataError).Write(bytes);
        Assert.Equal([0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0xAA, 0x99, 0, 0, 0x03, 0x80, 0, 0], bytes);

        new TxDescriptor(0x1000, 0x05DC, TxCommand.EndOfPacket | TxCommand.ReportStatus, TxStatus.DescriptorDone).Write(bytes);
        Assert.Equal([0, 0x10, 0, 0, 0, 0, 0, 0, 0xDC, 0x05, 0, 0x09, 0x01, 0, 0, 0], bytes);
    }

    private static ulong Buffer(int i) => 0x200_000 + ((ulong)i << 12);

    private void PostRx(int slot, ulong buffer)
    {
        var bytes = new byte[RxDescriptor.Size];
        RxDescriptor.Posted(buffer).Write(bytes);
        _bed.Poke((RxRingFrame << 12) + (ulong)(slot * RxDescriptor.Size), bytes);
    }

    private void PostTx(int slot, TxDescriptor descriptor)
    {
        var bytes = new byte[TxDescriptor.Size];
        descriptor.Write(bytes);
        _bed.Poke((TxRingFrame << 12) + (ulong)(slot * TxDescriptor.Size), bytes);
    }

    private RxDescriptor RxDescriptorAt(int slot) =>
        RxDescriptor.Read(_bed.Peek((RxRingFrame << 12) + (ulong)(slot * RxDescriptor.Size), RxDescriptor.Size));

    private TxDescriptor TxDescriptorAt(int slot) =>
        TxDescriptor.Read(_bed.Peek((TxRingFrame << 12) + (ulong)(slot * TxDescriptor.Size), TxDescriptor.Size));
}
