namespace PvIommu.Platform.Pci;

/// <summary>The DMA requester-ID alias rules of the topology.</summary>
/// <remarks>
/// The IOMMU picks a device's context by the requester ID on the DMA request, which is not
/// always the device's own address:
/// <list type="bullet">
/// <item>A PCIe-to-PCI bridge takes ownership of the transactions of the conventional PCI
/// devices behind it and forwards them with its own requester ID (PCI Express to PCI/PCI-X
/// Bridge Specification, transaction ownership; Intel VT-d spec §3.4.1 "Source Identifier" on
/// devices behind PCIe-to-PCI bridges). Bridges may also use the ID (secondary bus, device 0, function 0),
/// so both must lead to the device's context. Behind nested bridges the topmost such bridge
/// decides.</item>
/// <item>A device with phantom functions also issues requests with its phantom function
/// numbers.</item>
/// </list>
/// Every device sharing one of these IDs shares its translation: they cannot be isolated from
/// one another (<see cref="AliasGroup"/>).
/// </remarks>
public sealed partial class PciTopology
{
    /// <summary>The bridge directly above the bus of <paramref name="sbdf"/>, or <see langword="null"/> on a root bus.</summary>
    public PciBridge? ParentBridge(Sbdf sbdf) =>
        _segments.TryGetValue(sbdf.Segment, out var buses) ? buses.Parent[sbdf.Bus] : null;

    /// <summary>
    /// The topmost PCIe-to-PCI bridge above the bus of <paramref name="sbdf"/>: the one whose
    /// requester ID its DMA carries; <see langword="null"/> when no bridge rewrites it.
    /// </summary>
    public PciBridge? AliasingBridge(Sbdf sbdf)
    {
        PciBridge? topmost = null;
        for (var bridge = ParentBridge(sbdf); bridge is not null; bridge = ParentBridge(bridge.Sbdf))
        {
            if (bridge.Aliases)
            {
                topmost = bridge;
            }
        }

        return topmost;
    }

    /// <summary>
    /// The requester ID that reaches the IOMMU when a function sends DMA with requester ID
    /// <paramref name="requester"/> (its own, or one of its phantom functions'): the aliasing
    /// bridge's ID when one is above it, else the ID unchanged.
    /// </summary>
    public Sbdf DmaRequesterId(Sbdf requester) => AliasingBridge(requester)?.Sbdf ?? requester;

    /// <summary>
    /// Every requester ID that DMA of the function at <paramref name="device"/> may carry when
    /// it reaches the IOMMU; the hypervisor programs a context entry for each. The first one is
    /// the ID its DMA carries in this model (<see cref="DmaRequesterId"/>).
    /// </summary>
    /// <exception cref="KeyNotFoundException">no function at <paramref name="device"/>.</exception>
    public Sbdf[] RequesterIds(Sbdf device)
    {
        var function = Get(device);
        if (AliasingBridge(device) is { } bridge)
        {
            var secondary = new Sbdf(bridge.Sbdf.Segment, bridge.SecondaryBus, 0, 0);
            return [bridge.Sbdf, secondary];
        }

        return function.OwnRequesterIds();
    }

    /// <summary>
    /// The functions whose DMA shares at least one requester ID with <paramref name="device"/>
    /// (itself included), ordered by address: they always share one translation.
    /// </summary>
    /// <exception cref="KeyNotFoundException">no function at <paramref name="device"/>.</exception>
    public IReadOnlyList<PciFunction> AliasGroup(Sbdf device)
    {
        var ids = RequesterIds(device);
        var group = new List<PciFunction>();
        foreach (var function in Functions)
        {
            var theirs = RequesterIds(function.Sbdf);
            if (Array.Exists(theirs, id => Array.IndexOf(ids, id) >= 0))
            {
                group.Add(function);
            }
        }

        return group;
    }
}
