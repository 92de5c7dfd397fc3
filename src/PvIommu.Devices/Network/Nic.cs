using PvIommu.Platform.Iommu;
using PvIommu.Platform.Pci;

namespace PvIommu.Devices.Network;

/// <summary>
/// An Ethernet controller in the style of the Intel 8254x (e1000): one receive and one
/// transmit descriptor ring in host memory (<see cref="RxDescriptor"/>, <see cref="TxDescriptor"/>),
/// with head and tail registers. It reaches memory only by DMA, so every descriptor fetch,
/// buffer access and write-back goes through the IOMMU.
/// </summary>
/// <remarks>
/// The caller drives it step by step, with no threads: <see cref="Receive"/> takes one frame
/// off the wire, <see cref="Transmit"/> works through posted transmit descriptors. Register
/// writes (<see cref="ConfigureRx"/>, <see cref="WriteRxTail"/>, …) stand for the driver's
/// MMIO writes. A refused DMA is counted (<see cref="DmaEngine.Counters"/>, <see cref="Stats"/>)
/// and never thrown.
/// </remarks>
public sealed partial class Nic : IDmaDevice
{
    /// <summary>Smallest receive buffer size (e1000 RCTL.BSIZE 256).</summary>
    public const int MinBufferSize = 256;

    /// <summary>Largest receive buffer size (e1000 RCTL.BSIZE 16384 with BSEX).</summary>
    public const int MaxBufferSize = 16384;

    /// <summary>Most descriptors in a ring.</summary>
    public const int MaxDescriptors = 65536;

    /// <summary>Largest frame the transmit side assembles from fragments (a TSO-sized frame).</summary>
    public const int MaxTxFrame = 65535;

    private readonly DescriptorRing _rx = new(RxDescriptor.Size);
    private readonly DescriptorRing _tx = new(TxDescriptor.Size);
    private long _rxFrames;
    private long _rxBytes;
    private long _rxMissed;
    private long _rxOversize;
    private long _rxDmaErrors;
    private long _txFrames;
    private long _txBytes;
    private long _txDmaErrors;
    private long _invalidTailWrites;

    /// <summary>A NIC at <paramref name="sbdf"/> whose DMA goes through <paramref name="port"/>; both rings start disabled.</summary>
    public Nic(IDmaPort port, Sbdf sbdf)
    {
        Dma = new DmaEngine(port, sbdf);
    }

    /// <inheritdoc/>
    public Sbdf Sbdf => Dma.Requester;

    /// <inheritdoc/>
    public DmaEngine Dma { get; }

    /// <summary>The DMA counters (bytes, transfers, faults).</summary>
    public DeviceCounters Counters => Dma.Counters;

    /// <summary>The wire-side counters.</summary>
    public NicCounters Stats => new(
        _rxFrames, _rxBytes, _rxMissed, _rxOversize, _rxDmaErrors, _txFrames, _txBytes, _txDmaErrors, _invalidTailWrites);

    /// <summary>The receive buffer size every posted buffer has (RCTL.BSIZE).</summary>
    public int RxBufferSize { get; private set; }

    /// <summary>Whether receive is enabled.</summary>
    public bool RxEnabled => _rx.Enabled;

    /// <summary>Descriptors in the receive ring.</summary>
    public int RxCount => _rx.Count;

    /// <summary>RDH: the next descriptor the device fills.</summary>
    public int RxHead => _rx.Head;

    /// <summary>RDT: one past the last descriptor the driver has posted.</summary>
    public int RxTail => _rx.Tail;

    /// <summary>Whether transmit is enabled.</summary>
    public bool TxEnabled => _tx.Enabled;

    /// <summary>Descriptors in the transmit ring.</summary>
    public int TxCount => _tx.Count;

    /// <summary>TDH: the next descriptor the device processes.</summary>
    public int TxHead => _tx.Head;

    /// <summary>TDT: one past the last descriptor the driver has posted.</summary>
    public int TxTail => _tx.Tail;

    /// <summary>
    /// Programs and enables the receive ring (RDBA, RDLEN, RCTL.BSIZE, RCTL.EN): descriptors at
    /// bus address <paramref name="ringBase"/>, contiguous in bus-address space; head = tail = 0.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">a misaligned base, a count outside 2..65536 or a buffer size outside 256..16384.</exception>
    public void ConfigureRx(ulong ringBase, int descriptors, int bufferSize)
    {
        CheckRing(ringBase, descriptors);
        ArgumentOutOfRangeException.ThrowIfLessThan(bufferSize, MinBufferSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bufferSize, MaxBufferSize);
        RxBufferSize = bufferSize;
        _rx.Configure(ringBase, descriptors);
        DropRxDescriptors();
        DropRxWriteBacks();
    }

    /// <summary>Programs and enables the transmit ring (TDBA, TDLEN, TCTL.EN); head = tail = 0.</summary>
    /// <exception cref="ArgumentOutOfRangeException">a misaligned base or a count outside 2..65536.</exception>
    public void ConfigureTx(ulong ringBase, int descriptors)
    {
        CheckRing(ringBase, descriptors);
        _txLength = 0;
        _txBroken = false;
        _tx.Configure(ringBase, descriptors);
    }

    /// <summary>Stops receive and transmit and clears the ring registers (a device reset).</summary>
    public void Reset()
    {
        _rx.Disable();
        DropRxDescriptors();
        DropRxWriteBacks();
        _tx.Disable();
        _txLength = 0;
        _txBroken = false;
    }

    /// <summary>The RDT doorbell: the driver has posted descriptors up to, not including, <paramref name="tail"/>.</summary>
    /// <returns>False, and ignored, when receive is disabled or the index is outside the ring.</returns>
    public bool WriteRxTail(int tail)
    {
        var accepted = CountTailWrite(_rx.TryWriteTail(tail));

        // A tail moved back takes descriptors from the device: cached ones it no longer owns go.
        if (accepted && _rx.Posted < _rxCached - _rxCacheNext)
        {
            DropRxDescriptors();
        }

        return accepted;
    }

    /// <summary>The TDT doorbell: the driver has posted descriptors up to, not including, <paramref name="tail"/>.</summary>
    /// <returns>False, and ignored, when transmit is disabled or the index is outside the ring.</returns>
    public bool WriteTxTail(int tail) => CountTailWrite(_tx.TryWriteTail(tail));

    private bool CountTailWrite(bool accepted)
    {
        if (!accepted)
        {
            _invalidTailWrites++;
        }

        return accepted;
    }

    private static void CheckRing(ulong ringBase, int descriptors)
    {
        // RDBA/TDBA are 16-byte aligned (the low 4 bits are read-only zero on the e1000).
        if ((ringBase & 0xF) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(ringBase), ringBase, "a descriptor ring is 16-byte aligned");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(descriptors, 2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(descriptors, MaxDescriptors);
    }
}
