using PvIommu.Hypervisor.Iommu;
using PvIommu.Platform.Pci;

namespace PvIommu.Hypervisor.Domains;

/// <summary>A Xen domain as PV-IOMMU sees it: identity, p2m, devices, rights and IOMMU state.</summary>
/// <remarks>
/// <see cref="Lock"/> serialises every change to the domain's p2m and IOMMU state: a
/// domain's vCPUs run iommu_op calls one at a time, different domains' calls in parallel
/// (Xen takes a per-domain IOMMU lock around context changes).
/// </remarks>
public sealed class Domain
{
    internal Domain(ushort id, DomainConfig config, bool isHardwareDomain, bool isDomIo)
    {
        Id = id;
        Config = config;
        Name = config.Name;
        Kind = config.Kind;
        IsHardwareDomain = isHardwareDomain;
        IsDomIo = isDomIo;
        Policy = config.PvIommu ?? (isHardwareDomain ? PvIommuPolicy.On : PvIommuPolicy.CapsOnly);
        Iommu = new DomainIommu(this);
    }

    /// <summary>The domain id.</summary>
    public ushort Id { get; }

    /// <summary>What it was created with.</summary>
    public DomainConfig Config { get; }

    /// <summary>Its name.</summary>
    public string Name { get; }

    /// <summary>PV or PVH.</summary>
    public DomainKind Kind { get; }

    /// <summary>Whether this is the hardware domain (dom0).</summary>
    public bool IsHardwareDomain { get; }

    /// <summary>Whether this is dom_io, the owner of quarantined devices.</summary>
    public bool IsDomIo { get; }

    /// <summary>The toolstack's <c>pv_iommu</c> setting.</summary>
    public PvIommuPolicy Policy { get; internal set; }

    /// <summary>The domain this one is the device model (stub domain) of, if any.</summary>
    public ushort? DeviceModelTarget { get; internal set; }

    /// <summary>Whether the domain has been destroyed.</summary>
    public bool IsDying { get; internal set; }

    /// <summary>The physical-to-machine map.</summary>
    public P2m P2m { get; } = new();

    /// <summary>PCI devices assigned to the domain.</summary>
    public SortedSet<Sbdf> Devices { get; } = [];

    /// <summary>The domain's IOMMU contexts, arena and limits.</summary>
    public DomainIommu Iommu { get; }

    /// <summary>Held around every change of the domain's p2m or IOMMU state.</summary>
    public Lock Lock { get; } = new();

    /// <inheritdoc/>
    public override string ToString() => $"d{Id} ({Name})";
}
