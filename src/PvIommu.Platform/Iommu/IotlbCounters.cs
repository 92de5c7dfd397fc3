namespace PvIommu.Platform.Iommu;

/// <summary>A snapshot of an IOTLB's counters.</summary>
/// <param name="Hits">Lookups served from the IOTLB.</param>
/// <param name="Misses">Lookups that found nothing (the unit then walks).</param>
/// <param name="Fills">Entries written after a walk.</param>
/// <param name="Evictions">Valid entries replaced to make room.</param>
/// <param name="PageInvalidations">Page-selective invalidations issued.</param>
/// <param name="DomainInvalidations">Domain-selective invalidations issued.</param>
/// <param name="GlobalInvalidations">Global invalidations issued.</param>
/// <param name="EntriesInvalidated">Valid entries dropped by invalidations of any kind.</param>
public readonly record struct IotlbCounters(
    long Hits,
    long Misses,
    long Fills,
    long Evictions,
    long PageInvalidations,
    long DomainInvalidations,
    long GlobalInvalidations,
    long EntriesInvalidated)
{
    /// <summary>Invalidations of every kind.</summary>
    public long Invalidations => PageInvalidations + DomainInvalidations + GlobalInvalidations;
}
