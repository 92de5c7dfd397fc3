using System.Buffers.Binary;
using PvIommu.Platform.Memory;

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
    /// Receive descriptors the NIC holds on chip: it fetches up to this many posted descriptors
    /// in one DMA read (as the 8254x prefetches into its descriptor cache), never past the ring's
    /// end, the posted ones or the 4 KiB page of the head's descriptor.
    /// </summary>
    public const int RxDescriptorCache = 32;

    private readonly ulong[] _rxCache = new ulong[RxDescriptorCache];

    // Buffer addresses of ring slots head, head + 1, ...: _rxCache[_rxCacheNext] is the head's.
    private int _rxCached;
    private int _rxCacheNext;

    /// <summary>
    /// Takes one frame off the wire into the next posted receive buffer: take the descriptor at
    /// RDH from the descriptor cache (filled by one DMA read when empty, see
    /// <see cref="RxDescriptorCache"/>), write the frame into its buffer (DMA write), write back
    /// length and DD|EOP (DMA write of bytes 8..15), advance RDH.
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
        if (_rxCacheNext == _rxCached && !FetchRxDescriptors(slot))
        {
            _rxDmaErrors++;
            return RxOutcome.DescriptorFault;
        }

        var buffer = _rxCache[_rxCacheNext++];
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

    /// <summary>
    /// Fills the descriptor cache from the head's slot: one read of every posted descriptor up
    /// to the cache's size, the ring's end and the end of the slot's 4 KiB page (so the read is
    /// one translation, and a refused one faults at the head's descriptor as a single read would).
    /// </summary>
    /// <returns>False when the read was refused: the cache stays empty and head stays.</returns>
    private bool FetchRxDescriptors(ulong slot)
    {
        var posted = _rx.Posted;
        var toRingEnd = _rx.Count - _rx.Head;
        var toPageEnd = (int)((Frame.Size - (slot & (Frame.Size - 1))) / RxDescriptor.Size);
        var count = Math.Min(Math.Min(RxDescriptorCache, posted), Math.Min(toRingEnd, toPageEnd));
        Span<byte> descriptors = stackalloc byte[RxDescriptorCache * RxDescriptor.Size];
        descriptors = descriptors[..(count * RxDescriptor.Size)];
        DropRxDescriptors();
        if (!Dma.Read(slot, descriptors).IsOk)
        {
            return false;
        }

        for (var i = 0; i < count; i++)
        {
            _rxCache[i] = BinaryPrimitives.ReadUInt64LittleEndian(descriptors[((i * RxDescriptor.Size) + RxDescriptor.BufferOffset)..]);
        }

        _rxCached = count;
        return true;
    }

    /// <summary>Forgets the cached descriptors (ring reprogrammed, disabled or reset).</summary>
    private void DropRxDescriptors()
    {
        _rxCached = 0;
        _rxCacheNext = 0;
    }
}
