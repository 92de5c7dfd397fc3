namespace PvIommu.Guest;

/// <summary>
/// What the driver asked of the hypervisor, from the guest's side (a snapshot). Traps are what
/// a cost model charges a hypercall for: one per iommu_op issued alone, one per multicall.
/// </summary>
public sealed record DriverCounters
{
    /// <summary>Hypercall traps: single iommu_op calls plus multicalls.</summary>
    public long Traps { get; init; }

    /// <summary>iommu_op operations run, each multicall entry counted.</summary>
    public long IommuOps { get; init; }

    /// <summary>Multicall traps.</summary>
    public long Multicalls { get; init; }

    /// <summary>map_pages operations.</summary>
    public long MapCalls { get; init; }

    /// <summary>unmap_pages operations.</summary>
    public long UnmapCalls { get; init; }

    /// <summary>flush_pages operations.</summary>
    public long FlushCalls { get; init; }

    /// <summary>lookup_page operations.</summary>
    public long LookupCalls { get; init; }

    /// <summary>Operations that returned an error.</summary>
    public long FailedOps { get; init; }

    /// <summary>
    /// IOTLB invalidations the driver's calls owe (map without MAP_no_flush, unmap, flush):
    /// per trap, the requested ranges merged per context as the hypervisor merges them.
    /// </summary>
    public long InvalidationsRequested { get; init; }

    /// <summary>4 KiB frames mapped by successful maps (undone frames excluded).</summary>
    public long FramesMapped { get; init; }

    /// <summary>4 KiB frames unmapped (undo excluded).</summary>
    public long FramesUnmapped { get; init; }

    /// <summary>Frames a failed map had mapped and the driver unmapped again.</summary>
    public long FramesUndone { get; init; }

    /// <summary>Undo unmaps that failed themselves (a hypervisor inconsistency; never expected).</summary>
    public long UndoFailures { get; init; }

    /// <summary>iova_to_phys answered from the shadow table (no lookup capability).</summary>
    public long ShadowLookups { get; init; }
}
