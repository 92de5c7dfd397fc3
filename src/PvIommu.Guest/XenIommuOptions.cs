namespace PvIommu.Guest;

/// <summary>Knobs of the driver (Linux hard-codes the first two with a FIXME).</summary>
public sealed record XenIommuOptions
{
    /// <summary>Contexts asked for at init when the domain has none yet (Linux: 128).</summary>
    public uint MaxContexts { get; init; } = 128;

    /// <summary>The page-table arena's order asked for at init: 2^order pages (Linux: 12).</summary>
    public uint ArenaOrder { get; init; } = 12;

    /// <summary>Map 2 MiB and 1 GiB pages where the capabilities offer them and gfn and dfn are aligned.</summary>
    public bool UseSuperpages { get; init; } = true;

    /// <summary>
    /// Issue the map_pages calls of a request that splits into several runs as one multicall
    /// (one trap) instead of one trap per run (Linux issues one hypercall per run).
    /// </summary>
    public bool BatchRuns { get; init; } = true;
}

/// <summary>Where probing stopped when PV-IOMMU is not usable.</summary>
public enum ProbeStage
{
    /// <summary>Probing succeeded: contexts are available.</summary>
    None,

    /// <summary>query_capabilities failed (no IOMMU, PV-IOMMU off, not Xen): -ENODEV and friends.</summary>
    Query,

    /// <summary>init failed (a DomU without the right: -EPERM; initialised by someone else: -EACCES).</summary>
    Init,

    /// <summary>The capabilities still report no context after init.</summary>
    NoContexts,
}
