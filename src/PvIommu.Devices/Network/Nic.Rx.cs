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

    // The bytes of one descriptor fetch (a field, not a stackalloc: see NicDriver's _rxRun).
    private readonly byte[] _rxFetched = new byte[RxDescriptorCache * RxDescriptor.Size];

    // Completed descriptors held on chip for the next write-back burst: whole 16-byte
    // descriptors of consecutive slots from _rxHeldSlot, and each one's frame length (-1: RXE).
    private readonly byte[] _rxHeld = new byte[RxDescriptorCache * RxDescriptor.Size];
    private readonly int[] _rxHeldLengths = new int[RxDescriptorCache];
    private int _rxHeldCount;
    private ulong _rxHeldSlot;
    private int _rxWriteBackThreshold = 1;

    // Buffer addresses of ring slots head, head + 1, ...: _rxCache[_rxCacheNext] is the head's.
    private int _rxCached;
    private int _rxCacheNext;

    /// <summary>
    /// Takes one frame off the wire into the next posted receive buffer: take the descriptor at
    /// RDH from the descriptor cache (filled by one DMA read when empty, see
    /// <see cref="RxDescriptorCache"/>), write the frame into its buffer (DMA write), advance RDH,
    /// and write back the whole descriptor with length and DD|EOP (a DMA write, at once or in a
    /// burst: <see cref="RxWriteBackThreshold"/>).
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
        _rx.AdvanceHead();
        if (!data.IsOk)
        {
            _rxDmaErrors++;
        }

        // The descriptor joins the held burst (a burst is consecutive slots of one 4 KiB page);
        // the burst is written back once it reaches the threshold.
        if (_rxHeldCount != 0 && (slot != _rxHeldSlot + ((ulong)_rxHeldCount * RxDescriptor.Size) || (slot >> Frame.Shift) != (_rxHeldSlot >> Frame.Shift)))
        {
            FlushRxWriteBack();
        }

        if (_rxHeldCount == 0)
        {
            _rxHeldSlot = slot;
        }

        RxDescriptor.Encode(
            _rxHeld.AsSpan(_rxHeldCount * RxDescriptor.Size, RxDescriptor.Size),
            buffer,
            data.IsOk ? (ushort)frame.Length : (ushort)0,
            RxStatus.DescriptorDone | RxStatus.EndOfPacket,
            data.IsOk ? RxErrors.None : RxErrors.RxDataError);
        _rxHeldLengths[_rxHeldCount++] = data.IsOk ? frame.Length : -1;
        var written = _rxHeldCount < _rxWriteBackThreshold || FlushRxWriteBack();
        if (!data.IsOk)
        {
            return RxOutcome.DataFault;
        }

        return written ? RxOutcome.Delivered : RxOutcome.WriteBackFault;
    }

    /// <summary>
    /// Receive descriptors written back in one burst: the NIC holds completed descriptors and
    /// writes back up to this many consecutive ones (whole descriptors, in one DMA write that
    /// never crosses a 4 KiB page), as the 82599's RXDCTL.WTHRESH. 1, the default, writes each
    /// one back as its frame lands. <see cref="FlushRxWriteBack"/> writes back what is held.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">not 1 to <see cref="RxDescriptorCache"/>.</exception>
    public int RxWriteBackThreshold
    {
        get => _rxWriteBackThreshold;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, RxDescriptorCache);
            _rxWriteBackThreshold = value;
            if (_rxHeldCount >= value)
            {
                FlushRxWriteBack();
            }
        }
    }

    /// <summary>Receive descriptors completed and not yet written back (the driver sees no DD on them yet).</summary>
    public int RxHeldWriteBacks => _rxHeldCount;

    /// <summary>
    /// Writes back every held receive descriptor in one DMA write, as the interrupt throttle
    /// timer does before the interrupt that makes a driver poll. Frames whose data landed count
    /// as received only now; if the write is refused they count as DMA errors, and the driver
    /// never sees them.
    /// </summary>
    /// <returns>False when the write was refused; true when it succeeded or nothing was held.</returns>
    public bool FlushRxWriteBack()
    {
        var held = _rxHeldCount;
        if (held == 0)
        {
            return true;
        }

        _rxHeldCount = 0;
        var ok = Dma.Write(_rxHeldSlot, _rxHeld.AsSpan(0, held * RxDescriptor.Size)).IsOk;
        foreach (var length in _rxHeldLengths.AsSpan(0, held))
        {
            if (length < 0)
            {
                continue; // RXE: counted when the data write was refused
            }

            if (ok)
            {
                _rxFrames++;
                _rxBytes += length;
            }
            else
            {
                _rxDmaErrors++;
            }
        }

        return ok;
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
        var descriptors = _rxFetched.AsSpan(0, count * RxDescriptor.Size);
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

    /// <summary>Forgets the held write-backs (reset, or the ring reprogrammed): their frames are lost.</summary>
    private void DropRxWriteBacks() => _rxHeldCount = 0;
}
