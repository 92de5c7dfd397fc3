using PvIommu.Platform.Iommu;
using PvIommu.Platform.Memory;
using PvIommu.Platform.PageTables;
using PvIommu.Platform.Pci;

namespace PvIommu.Hypervisor.Iommu;

/// <summary>
/// The hypervisor's driver for the IOMMU units: programs context entries and issues
/// invalidations, counting what it issues (the cost model's invalidations).
/// </summary>
/// <remarks>
/// The units are not thread-safe, as hardware registers are not: one lock serialises every
/// access the hypervisor makes, like Xen's per-IOMMU register lock.
/// </remarks>
internal sealed class IommuHardware
{
    private readonly Lock _lock = new();
    private long _pageInvalidations;
    private long _domainInvalidations;
    private long _contextInvalidations;

    public IommuHardware(Machine machine)
    {
        Machine = machine;
        var units = machine.Units;
        Present = units.Count > 0;
        if (Present)
        {
            Format = units[0].Format;
            Levels = units[0].Levels;
            if (units.Any(u => u.Format != Format || u.Levels != Levels))
            {
                throw new ArgumentException("every IOMMU unit of a host must use the same page-table format and levels", nameof(machine));
            }
        }
    }

    public Machine Machine { get; }

    /// <summary>Whether the host has IOMMU hardware at all.</summary>
    public bool Present { get; }

    public PageTableFormat Format { get; }

    public int Levels { get; }

    /// <summary>Highest device address a context accepts.</summary>
    public ulong MaxIovaAddress => (1UL << (12 + (PageLevel.Bits * Levels))) - 1;

    public long PageInvalidations => Volatile.Read(ref _pageInvalidations);

    public long DomainInvalidations => Volatile.Read(ref _domainInvalidations);

    public long ContextInvalidations => Volatile.Read(ref _contextInvalidations);

    /// <summary>IOTLB invalidation commands issued, of any kind.</summary>
    public long IotlbInvalidations => PageInvalidations + DomainInvalidations;

    /// <summary>
    /// Points every requester ID of <paramref name="device"/> at <paramref name="context"/>,
    /// invalidates the context cache for them and, when given, the IOTLB of the domain-id the
    /// device used before: no stale translation of the old context survives.
    /// </summary>
    public void Program(Sbdf device, DeviceContext context, ushort? oldDomainId)
    {
        lock (_lock)
        {
            var unit = Machine.UnitOf(device);
            foreach (var rid in Machine.Topology.RequesterIds(device))
            {
                unit.SetContext(rid, context);
                unit.InvalidateContextDevice(rid);
                _contextInvalidations++;
            }

            if (oldDomainId is { } did)
            {
                unit.Iotlb.InvalidateDomain(did);
                _domainInvalidations++;
            }
        }
    }

    /// <summary>One ranged (page-selective) invalidation of <paramref name="frames"/> frames at <paramref name="dfn"/>.</summary>
    public void FlushPages(ushort domainId, ulong dfn, ulong frames)
    {
        lock (_lock)
        {
            var units = Machine.Units;
            for (var i = 0; i < units.Count; i++)
            {
                units[i].Iotlb.InvalidatePages(domainId, new Dfn(dfn), frames);
            }

            _pageInvalidations++;
        }
    }

    /// <summary>A domain-selective invalidation (a whole context's translations).</summary>
    public void FlushDomain(ushort domainId)
    {
        lock (_lock)
        {
            foreach (var unit in Machine.Units)
            {
                unit.Iotlb.InvalidateDomain(domainId);
            }

            _domainInvalidations++;
        }
    }

    /// <summary>The context entry the hardware holds for <paramref name="requesterId"/>.</summary>
    public DeviceContext ContextOf(Sbdf requesterId)
    {
        lock (_lock)
        {
            return Machine.UnitFor(requesterId).GetContext(requesterId);
        }
    }
}
