using PvIommu.Platform.Pci;

namespace PvIommu.Hypervisor.Iommu;

/// <summary>Where a context is in its life.</summary>
public enum ContextState
{
    /// <summary>Allocated and usable.</summary>
    Live,

    /// <summary>Being torn down by a (preempted) free: unusable, its number not yet reusable.</summary>
    Dying,
}

/// <summary>
/// One device address space of a domain: a page table, the hardware domain-id that tags its
/// IOTLB entries, the devices in it and the reserved regions those devices need mapped 1:1.
/// </summary>
public sealed class IommuContext
{
    private readonly Dictionary<ReservedRegion, int> _reserved = [];

    internal IommuContext(ushort number, ushort hardwareDomainId, IContextTable table, ContextKind kind)
    {
        Number = number;
        HardwareDomainId = hardwareDomainId;
        Table = table;
        Kind = kind;
    }

    /// <summary>The context number (0 is the default context).</summary>
    public ushort Number { get; }

    /// <summary>The domain-id its IOTLB entries are tagged with.</summary>
    public ushort HardwareDomainId { get; }

    /// <summary>What maps it and what the guest may do with it.</summary>
    public ContextKind Kind { get; }

    /// <summary>Live, or dying while a free runs.</summary>
    public ContextState State { get; internal set; }

    /// <summary>Devices whose DMA this context translates.</summary>
    public SortedSet<Sbdf> Devices { get; } = [];

    /// <summary>Reserved regions mapped 1:1 here, each with the number of devices needing it.</summary>
    public IReadOnlyDictionary<ReservedRegion, int> ReservedRegions => _reserved;

    /// <summary>4 KiB frames mapped (reserved regions included).</summary>
    public long MappedFrames => Table.MappedFrames;

    /// <summary>Page-table pages it holds, the root included.</summary>
    public int TablePages => Table.TablePages;

    internal IContextTable Table { get; }

    /// <summary>Whether a guest may read it with lookup_page (not an opaque PVH default context).</summary>
    public bool IsLookupable => Kind != ContextKind.DefaultShared;

    /// <summary>The first reserved frame in [dfn, dfn + count), or <see langword="null"/>.</summary>
    public ulong? FirstReserved(ulong dfn, ulong count)
    {
        ulong? first = null;
        foreach (var region in _reserved.Keys)
        {
            var start = region.Start.Value;
            var end = start + region.Frames;
            if (start < dfn + count && dfn < end)
            {
                var hit = Math.Max(start, dfn);
                first = first is { } f ? Math.Min(f, hit) : hit;
            }
        }

        return first;
    }

    internal bool AddReservedUse(ReservedRegion region)
    {
        _reserved[region] = _reserved.GetValueOrDefault(region) + 1;
        return _reserved[region] == 1;
    }

    internal bool RemoveReservedUse(ReservedRegion region)
    {
        var left = _reserved[region] - 1;
        if (left == 0)
        {
            _reserved.Remove(region);
            return true;
        }

        _reserved[region] = left;
        return false;
    }

    /// <inheritdoc/>
    public override string ToString() => $"ctx {Number} ({Kind}, did {HardwareDomainId}, {Devices.Count} devices)";
}

/// <summary>What a context is.</summary>
public enum ContextKind
{
    /// <summary>Context 0 of a PV domain: RAM and MMIO 1:1 by machine frame, Xen-managed.</summary>
    DefaultIdentity,

    /// <summary>Context 0 of a PVH domain: dfn = gfn through the p2m, Xen-managed and opaque.</summary>
    DefaultShared,

    /// <summary>Context 0 of a no-dma domain or of dom_io: reserved regions only.</summary>
    DefaultBlocked,

    /// <summary>A guest-allocated paging context (map/unmap by the guest).</summary>
    Paging,

    /// <summary>A guest-allocated ALLOC_identity context: every RAM page at dfn = gfn, kept in sync.</summary>
    Identity,
}
