namespace PvIommu.Guest.Dma;

/// <summary>The direction of a DMA mapping (Linux's <c>enum dma_data_direction</c>).</summary>
public enum DmaDirection
{
    /// <summary>The device reads the buffer: mapped readable.</summary>
    ToDevice,

    /// <summary>The device writes the buffer: mapped writeable.</summary>
    FromDevice,

    /// <summary>Both: mapped readable and writeable.</summary>
    Bidirectional,
}

/// <summary>A live mapping of the DMA API: <see cref="Pages"/> pages from device frame <see cref="Pfn"/>.</summary>
/// <param name="Pfn">The first device frame (the dma address's frame).</param>
/// <param name="Pages">4 KiB pages.</param>
/// <param name="Direction">The direction it was mapped for.</param>
public readonly record struct DmaMapping(ulong Pfn, ulong Pages, DmaDirection Direction);

/// <summary>When an unmap takes effect in the IOMMU (Linux's <c>iommu.strict</c>).</summary>
public enum UnmapPolicy
{
    /// <summary>Every unmap invalidates the IOTLB before it returns: one trap and one invalidation each.</summary>
    Strict,

    /// <summary>
    /// Maps skip the invalidation (MAP_no_flush); unmaps are queued and issued in one multicall
    /// with one merged invalidation per 256 entries or 10 ms. Until then a device can still
    /// reach the old buffer: the window Linux's lazy mode accepts for speed.
    /// </summary>
    Deferred,
}

/// <summary>One piece of a scatter-gather list: <see cref="Length"/> bytes from byte <see cref="Offset"/> of guest frame <see cref="Gfn"/>, contiguous in gfns.</summary>
/// <param name="Gfn">The first guest frame.</param>
/// <param name="Offset">Byte offset into it (may exceed a page: it then moves on to later gfns).</param>
/// <param name="Length">Bytes (at least one).</param>
public readonly record struct DmaSegment(ulong Gfn, ulong Offset, ulong Length)
{
    /// <summary>The same piece with its offset inside the first page.</summary>
    public DmaSegment Normalised => new(Gfn + (Offset >> 12), Offset & 0xFFF, Length);

    /// <summary>4 KiB frames the piece touches.</summary>
    public ulong Pages => DmaDevice.PagesSpanned(Offset & 0xFFF, Length);
}

/// <summary>A mapped scatter-gather list: one IOVA block, one dma address per segment.</summary>
public sealed class DmaSgMapping
{
    internal DmaSgMapping(IReadOnlyList<ulong> addresses, IReadOnlyList<DmaSegment> segments, ulong pfn, ulong pages)
    {
        Addresses = addresses;
        Segments = segments;
        Pfn = pfn;
        Pages = pages;
    }

    /// <summary>The dma address of each segment, in order.</summary>
    public IReadOnlyList<ulong> Addresses { get; }

    /// <summary>The segments as mapped (offsets normalised).</summary>
    public IReadOnlyList<DmaSegment> Segments { get; }

    /// <summary>4 KiB frames mapped for the whole list.</summary>
    public ulong Pages { get; }

    /// <summary>The first IOVA frame (for direct mapping, 0).</summary>
    internal ulong Pfn { get; }
}

/// <summary>Settings of a device's DMA API.</summary>
public sealed record DmaOptions
{
    /// <summary>Strict or deferred unmap.</summary>
    public UnmapPolicy Policy { get; init; } = UnmapPolicy.Strict;

    /// <summary>The device's DMA mask in bits (32 for a device limited to 4 GiB).</summary>
    public int DmaMaskBits { get; init; } = 64;

    /// <summary>
    /// Try the 32-bit window first for a 64-bit device, without emptying caches on failure
    /// (Linux's default for PCI devices, which keeps DAC addresses rare but crowds the low window).
    /// </summary>
    public bool Prefer32BitWindow { get; init; }

    /// <summary>Leave the device in the identity domain (passthrough): direct and unprotected.</summary>
    public bool Identity { get; init; }

    /// <summary>The clock the deferred policy's timer reads; a stopped clock when not given.</summary>
    public ISimClock Clock { get; init; } = new ManualClock();

    /// <summary>Queued unmaps that trigger a flush (Linux: 256 per queue).</summary>
    public int FlushQueueEntries { get; init; } = 256;

    /// <summary>Simulated nanoseconds after the first queued unmap at which the queue is flushed (Linux: 10 ms).</summary>
    public long FlushTimeoutNanoseconds { get; init; } = 10 * ManualClock.NanosecondsPerMillisecond;

    /// <summary>The IOVA allocator's knobs (CPU count, magazines, depot).</summary>
    public IovaOptions Iova { get; init; } = new();
}

/// <summary>What a device's DMA API did (a snapshot).</summary>
public sealed record DmaCounters
{
    /// <summary>Successful maps (single, page list or scatter-gather).</summary>
    public long Maps { get; init; }

    /// <summary>Maps refused (no IOVA space, hypervisor error, bad arguments).</summary>
    public long MapFailures { get; init; }

    /// <summary>Unmaps accepted (strict: done; deferred: queued).</summary>
    public long Unmaps { get; init; }

    /// <summary>Unmaps the hypervisor refused; their IOVA is never reused.</summary>
    public long UnmapFailures { get; init; }

    /// <summary>Unmaps put on the deferred queue.</summary>
    public long Queued { get; init; }

    /// <summary>Deferred-queue flushes, all causes.</summary>
    public long QueueFlushes { get; init; }

    /// <summary>Flushes because the queue reached its entry limit.</summary>
    public long FlushesByCount { get; init; }

    /// <summary>Flushes because the timer expired.</summary>
    public long FlushesByTimer { get; init; }

    /// <summary>Flushes asked for (explicitly, for IOVA space, or at shutdown).</summary>
    public long FlushesOnDemand { get; init; }

    /// <summary>Mappings live now.</summary>
    public long LiveMappings { get; init; }

    /// <summary>Unmaps waiting in the queue now.</summary>
    public int QueuedNow { get; init; }

    /// <summary>The IOVA allocator's counters; null for direct mapping.</summary>
    public IovaCounters? Iova { get; init; }
}
