namespace PvIommu.Hypervisor;

/// <summary>What the hypervisor did, for reports and the cost model.</summary>
public sealed record HostCounters
{
    /// <summary>iommu_op calls that reached the dispatcher (a continuation is not a new call).</summary>
    public long Hypercalls { get; init; }

    /// <summary>Multicall traps (each runs many entries).</summary>
    public long Multicalls { get; init; }

    /// <summary>Times a call was preempted and continued.</summary>
    public long Continuations { get; init; }

    /// <summary>IOTLB invalidation commands issued (page-selective and domain-selective).</summary>
    public long IotlbInvalidations { get; init; }

    /// <summary>Context-cache invalidations issued.</summary>
    public long ContextInvalidations { get; init; }

    /// <summary>Page-table entries written by every context.</summary>
    public long PteWrites { get; init; }

    /// <summary>Frames freed by a last page-reference drop (ballooned out while mapped).</summary>
    public long FramesFreedByLastReference { get; init; }
}
