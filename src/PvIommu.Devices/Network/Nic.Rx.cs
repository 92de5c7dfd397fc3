namespace PvIommu.Devices.Network;

/// <summary>What became of one frame offered to <see cref="Nic.Receive"/>.</summary>
public enum RxOutcome
{
    /// <summary>The frame is in the buffer and the descriptor is written back (DD|EOP).</summary>
    Delivered,

    /// <summary>Receive is disabled: the frame is dropped and not counted.</summary>
    Disabled,

    /// <summary>The driver has posted no buffer (head == tail): dropped, counted as missed.</summary>
    NoDescriptor,

    /// <summary>The frame is larger than <see cref="Nic.RxBufferSize"/>: dropped.</summary>
    Oversize,

    /// <summary>The descriptor could not be fetched: dropped, head stays (the device retries it next frame).</summary>
    DescriptorFault,

    /// <summary>The data write was refused: the descriptor is written back with RXE and consumed.</summary>
    DataFault,

    /// <summary>The data landed but the write-back was refused: consumed, the driver never sees DD.</summary>
    WriteBackFault,
}

public sealed partial class Nic
{
    /// <summary>
    /// Takes one frame off the wire into the next posted receive buffer: fetch the descriptor
    /// at RDH (DMA read), write the frame into its buffer (DMA write), write back length and
    /// DD|EOP (DMA write of bytes 8..15), advance RDH.
    /// </summary>
    /// <exception cref="ArgumentException">an empty frame.</exception>
    public RxOutcome Receive(ReadOnlySpan<byte> frame)
    {
        if (frame.IsEmpty)
        {
            throw new ArgumentException("a frame has at least one byte", nameof(frame));
        }

        if (!_rx.Enabled)
        {
            return RxOutcome.Disabled;
        }

        if (_rx.IsEmpty)
        {
            _rxMissed++;
            return RxOutcome.NoDescriptor;
        }

        if (frame.Length > RxBufferSize)
        {
            _rxOversize++;
            return RxOutcome.Oversize;
        }

        var slot = _rx.Address(_rx.Head);
        if (!Dma.ReadUInt64(slot + RxDescriptor.BufferOffset, out var buffer).IsOk)
        {
            _rxDmaErrors++;
            return RxOutcome.DescriptorFault;
        }

        var data = Dma.Write(buffer, frame);
        var done = new RxDescriptor(
            buffer,
            data.IsOk ? (ushort)frame.Length : (ushort)0,
            RxStatus.DescriptorDone | RxStatus.EndOfPacket,
            data.IsOk ? RxErrors.None : RxErrors.RxDataError);
        Span<byte> writeBack = stackalloc byte[RxDescriptor.Size - RxDescriptor.WriteBackOffset];
        done.WriteBack(writeBack);
        var status = Dma.Write(slot + RxDescriptor.WriteBackOffset, writeBack);
        _rx.AdvanceHead();
        if (!data.IsOk || !status.IsOk)
        {
            _rxDmaErrors++;
            return data.IsOk ? RxOutcome.WriteBackFault : RxOutcome.DataFault;
        }

        _rxFrames++;
        _rxBytes += frame.Length;
        return RxOutcome.Delivered;
    }
}
