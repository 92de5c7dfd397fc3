using PvIommu.Platform.Memory;

namespace PvIommu.Devices.Network;

/// <summary>Receives each frame the NIC puts on the wire.</summary>
/// <param name="frame">The frame's bytes, valid only during the call.</param>
public delegate void FrameHandler(ReadOnlySpan<byte> frame);

public sealed partial class Nic
{
    private readonly ArraySegment<byte> _txFrame = CacheLineBuffer.Allocate(MaxTxFrame);
    private int _txLength;
    private bool _txBroken;

    /// <summary>
    /// Works through up to <paramref name="maxDescriptors"/> posted transmit descriptors, from
    /// TDH towards TDT: fetch each (DMA read), read its fragment (DMA read), write back DD when
    /// RS is set (one-byte DMA write), and on EOP put the assembled frame on the wire.
    /// </summary>
    /// <remarks>
    /// A frame whose fragment could not be read, or that grows past <see cref="MaxTxFrame"/>, is
    /// dropped at EOP (counted in <see cref="NicCounters.TxDmaErrors"/>), but its descriptors
    /// still complete so the driver can unmap them. A descriptor that cannot be fetched stalls
    /// the ring: TDH stays, and the next call tries again. A frame whose EOP is not yet posted
    /// waits, half assembled, for the next call.
    /// </remarks>
    /// <param name="maxDescriptors">Most descriptors to process in this step.</param>
    /// <param name="onFrame">Gets each frame sent; null discards them.</param>
    /// <returns>Frames sent in this step.</returns>
    public int Transmit(int maxDescriptors, FrameHandler? onFrame)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxDescriptors);
        var sent = 0;
        Span<byte> raw = stackalloc byte[TxDescriptor.Size];
        for (var n = 0; n < maxDescriptors && _tx.Enabled && !_tx.IsEmpty; n++)
        {
            var slot = _tx.Address(_tx.Head);
            if (!Dma.Read(slot, raw).IsOk)
            {
                _txDmaErrors++;
                break;
            }

            var descriptor = TxDescriptor.Read(raw);
            Gather(descriptor);
            if ((descriptor.Command & TxCommand.ReportStatus) != 0
                && !Dma.Write(slot + TxDescriptor.StatusOffset, [(byte)TxStatus.DescriptorDone]).IsOk)
            {
                _txDmaErrors++;
            }

            _tx.AdvanceHead();
            if ((descriptor.Command & TxCommand.EndOfPacket) != 0)
            {
                sent += EndFrame(onFrame);
            }
        }

        return sent;
    }

    private void Gather(TxDescriptor descriptor)
    {
        if (_txBroken || descriptor.Length == 0)
        {
            return;
        }

        if (_txLength + descriptor.Length > MaxTxFrame
            || !Dma.Read(descriptor.Buffer, _txFrame.AsSpan(_txLength, descriptor.Length)).IsOk)
        {
            _txBroken = true;
            return;
        }

        _txLength += descriptor.Length;
    }

    private int EndFrame(FrameHandler? onFrame)
    {
        var sent = 0;
        if (_txBroken || _txLength == 0)
        {
            _txDmaErrors += _txBroken ? 1 : 0;
        }
        else
        {
            onFrame?.Invoke(_txFrame.AsSpan(0, _txLength));
            _txFrames++;
            _txBytes += _txLength;
            sent = 1;
        }

        _txLength = 0;
        _txBroken = false;
        return sent;
    }
}
