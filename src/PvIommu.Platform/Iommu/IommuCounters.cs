namespace PvIommu.Platform.Iommu;

/// <summary>A snapshot of an IOMMU unit's counters (the cost model reads these).</summary>
/// <param name="Translations">4 KiB pieces translated or refused (each DMA piece and each <see cref="IommuUnit.Translate"/>).</param>
/// <param name="Walks">Page walks (IOTLB misses of translated contexts).</param>
/// <param name="WalkSteps">Page-table words read by those walks.</param>
/// <param name="Faults">DMA transfers refused (each logs one fault, unless the log has overflowed).</param>
/// <param name="ContextCacheHits">Context lookups served from the context cache.</param>
/// <param name="ContextCacheMisses">Context lookups that read the context table.</param>
/// <param name="ContextDeviceInvalidations">Device-selective context-cache invalidations.</param>
/// <param name="ContextDomainInvalidations">Domain-selective context-cache invalidations.</param>
/// <param name="ContextGlobalInvalidations">Global context-cache invalidations.</param>
/// <param name="Iotlb">The IOTLB's counters.</param>
public readonly record struct IommuCounters(
    long Translations,
    long Walks,
    long WalkSteps,
    long Faults,
    long ContextCacheHits,
    long ContextCacheMisses,
    long ContextDeviceInvalidations,
    long ContextDomainInvalidations,
    long ContextGlobalInvalidations,
    IotlbCounters Iotlb);
