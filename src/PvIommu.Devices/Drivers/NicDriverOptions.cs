using PvIommu.Devices.Network;

namespace PvIommu.Devices.Drivers;

/// <summary>How a <see cref="NicDriver"/> sets up its NIC and pages.</summary>
public sealed record NicDriverOptions
{
    /// <summary>Receive descriptors (ring sizes of 256–2048 are typical; one slot stays empty).</summary>
    public int RxRingSize { get; init; } = 256;

    /// <summary>Transmit descriptors.</summary>
    public int TxRingSize { get; init; } = 256;

    /// <summary>Receive buffer size programmed into the NIC (one pool page holds one buffer).</summary>
    public int RxBufferSize { get; init; } = 4096;

    /// <summary>Spare mapped pages the RX page pool keeps (default: a ring's worth).</summary>
    public int PoolCacheSize { get; init; } = 256;

    /// <summary>
    /// New pages the RX page pool allocates and maps at once when its cache runs dry (page_pool's
    /// bulk refill; with PV-IOMMU one multicall per batch). Default 128, page_pool's allocation
    /// cache size; 1 maps every new page on its own.
    /// </summary>
    public int PoolRefill { get; init; } = 128;

    /// <summary>
    /// Chance that the stack gives a received page straight back to the pool (recycled, still
    /// mapped); otherwise it keeps the page and the page leaves the pool (unmapped). 1 recycles
    /// everything; 0.8 gives about 13 unmaps per 64-packet poll.
    /// </summary>
    public double RecycleRate { get; init; } = 1.0;

    /// <summary>Seed of the recycling decisions.</summary>
    public ulong Seed { get; init; }

    /// <summary>
    /// Bytes of each transmitted frame put in a separate header fragment (0: none). With a
    /// split, a frame maps as header + page fragments, as an skb does.
    /// </summary>
    public int TxHeaderBytes { get; init; }

    /// <summary>Throws when a field is out of range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">a ring size outside 2..65536, a buffer size outside 256..4096, a negative cache, a refill batch below 1, a rate outside 0..1 or a header split outside 0..4095.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(RxRingSize, 2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(RxRingSize, Nic.MaxDescriptors);
        ArgumentOutOfRangeException.ThrowIfLessThan(TxRingSize, 2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(TxRingSize, Nic.MaxDescriptors);
        ArgumentOutOfRangeException.ThrowIfLessThan(RxBufferSize, Nic.MinBufferSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(RxBufferSize, 4096);
        ArgumentOutOfRangeException.ThrowIfNegative(PoolCacheSize);
        ArgumentOutOfRangeException.ThrowIfLessThan(PoolRefill, 1);
        if (double.IsNaN(RecycleRate) || RecycleRate < 0 || RecycleRate > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(RecycleRate), RecycleRate, "a probability");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(TxHeaderBytes);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(TxHeaderBytes, 4095);
    }
}

/// <summary>What a NIC driver has done.</summary>
/// <param name="RxPackets">Frames handed to the stack.</param>
/// <param name="RxBytes">Their bytes.</param>
/// <param name="RxErrors">Completed descriptors with RXE (the frame did not arrive).</param>
/// <param name="RxRefillFailures">Refills that got no page (the slot stays empty until a later poll).</param>
/// <param name="TxPackets">Frames posted.</param>
/// <param name="TxFragments">Fragments posted (one mapping each).</param>
/// <param name="TxCompletions">Fragments reaped and unmapped.</param>
/// <param name="TxBusy">Frames refused because the ring had no room.</param>
/// <param name="TxMapFailures">Frames refused because a page or mapping could not be had.</param>
public readonly record struct NicDriverCounters(
    long RxPackets,
    long RxBytes,
    long RxErrors,
    long RxRefillFailures,
    long TxPackets,
    long TxFragments,
    long TxCompletions,
    long TxBusy,
    long TxMapFailures);
