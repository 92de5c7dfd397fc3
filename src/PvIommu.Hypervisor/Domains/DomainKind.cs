namespace PvIommu.Hypervisor.Domains;

/// <summary>How a domain is virtualised, which decides its default IOMMU context (spec §5).</summary>
public enum DomainKind
{
    /// <summary>Paravirtualised: gfn = mfn; context 0 maps RAM 1:1 by machine frame.</summary>
    Pv,

    /// <summary>PVH/HVM: context 0 translates dfn = gfn through the p2m, and is opaque.</summary>
    Pvh,
}

/// <summary>The toolstack's <c>pv_iommu</c> setting for a domain (spec §1.1).</summary>
public enum PvIommuPolicy
{
    /// <summary>Every sub-op allowed.</summary>
    On,

    /// <summary>query_capabilities only; the rest -EPERM (the default for a DomU).</summary>
    CapsOnly,

    /// <summary>Nothing: -ENODEV at the entry gate.</summary>
    Off,
}

/// <summary>What the toolstack creates a domain with.</summary>
/// <param name="Name">The domain's name.</param>
/// <param name="Kind">PV or PVH.</param>
/// <param name="MemoryFrames">RAM in 4 KiB frames (gfn 0.. for PVH; machine frames 1:1 for PV).</param>
public sealed record DomainConfig(string Name, DomainKind Kind, ulong MemoryFrames)
{
    /// <summary>Whether the domain has an IOMMU (Xen enables it for domains with passthrough devices).</summary>
    public bool IommuEnabled { get; init; } = true;

    /// <summary>The <c>pv_iommu</c> setting; <see langword="null"/> means on for the hardware domain, caps-only otherwise.</summary>
    public PvIommuPolicy? PvIommu { get; init; }

    /// <summary>A "no-dma" domain: context 0 maps only reserved regions (spec §5).</summary>
    public bool NoDma { get; init; }

    /// <summary>MMIO ranges the domain may access (gfn → mfn 1:1 for PV, at the given gfn for PVH): (first mfn, frames, gfn).</summary>
    public IReadOnlyList<(ulong Mfn, ulong Frames, ulong Gfn)> Mmio { get; init; } = [];
}
