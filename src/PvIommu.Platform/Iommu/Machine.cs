using PvIommu.Platform.Memory;
using PvIommu.Platform.Pci;

namespace PvIommu.Platform.Iommu;

/// <summary>
/// The simulated host hardware: machine memory, the PCI topology and the IOMMU units, with
/// every requester ID routed to the one unit whose scope holds it. Devices reach memory
/// through it (<see cref="IDmaPort"/>): their requester ID is replaced by its alias (a
/// PCIe-to-PCI bridge's), then the unit that owns the alias translates the transfer.
/// </summary>
/// <remarks>
/// Building a machine checks the host description: unit names unique, explicit scopes
/// disjoint, at most one include-all unit per segment, and every requester ID of every device
/// in exactly one unit's scope (so a device and its aliases never straddle two units). The
/// topology is frozen: routing is precomputed into per-segment tables.
/// Not thread-safe, like its units.
/// </remarks>
public sealed partial class Machine : IDmaPort
{
    private readonly IommuUnit[] _units;

    /// <summary>Builds the machine and checks that every device has exactly one IOMMU unit.</summary>
    /// <exception cref="ArgumentException">an invalid unit description or duplicate unit names.</exception>
    /// <exception cref="InvalidOperationException">scopes that overlap, a unit on a missing segment, or a device no unit (or two units) covers.</exception>
    public Machine(MachineMemory memory, PciTopology topology, IEnumerable<IommuUnitDescription> units)
    {
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentNullException.ThrowIfNull(topology);
        ArgumentNullException.ThrowIfNull(units);
        Memory = memory;
        Topology = topology;
        _units = [.. units.Select(d => new IommuUnit(d, memory))];
        CheckNames();
        _routes = BuildRoutes();
        CheckEveryDevice();
        topology.Freeze();
    }

    /// <summary>Host memory.</summary>
    public MachineMemory Memory { get; }

    /// <summary>The PCI hierarchy (frozen).</summary>
    public PciTopology Topology { get; }

    /// <summary>The IOMMU units, in the order described.</summary>
    public IReadOnlyList<IommuUnit> Units => _units;

    /// <summary>The sum of every unit's fault count.</summary>
    public long TotalFaults => _units.Sum(u => u.Counters.Faults);

    /// <summary>The unit named <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">no such unit.</exception>
    public IommuUnit Unit(string name) =>
        Array.Find(_units, u => u.Name == name) ?? throw new KeyNotFoundException($"no IOMMU unit named '{name}'");

    /// <summary>The unit that translates DMA of the device at <paramref name="device"/> (the one holding all its requester IDs).</summary>
    /// <exception cref="KeyNotFoundException">no function at <paramref name="device"/>.</exception>
    public IommuUnit UnitOf(Sbdf device) => UnitFor(Topology.RequesterIds(device)[0]);

    /// <summary>
    /// Writes <paramref name="context"/> into the entry of every requester ID the device's DMA
    /// may carry (<see cref="PciTopology.RequesterIds"/>: phantom functions, bridge aliases).
    /// Caches still serve the old entries until <see cref="InvalidateDeviceContext"/>.
    /// </summary>
    /// <exception cref="KeyNotFoundException">no function at <paramref name="device"/>.</exception>
    public void SetDeviceContext(Sbdf device, DeviceContext context)
    {
        var unit = UnitOf(device);
        foreach (var id in Topology.RequesterIds(device))
        {
            unit.SetContext(id, context);
        }
    }

    /// <summary>Device-selective context-cache invalidation of every requester ID of the device.</summary>
    /// <exception cref="KeyNotFoundException">no function at <paramref name="device"/>.</exception>
    public void InvalidateDeviceContext(Sbdf device)
    {
        var unit = UnitOf(device);
        foreach (var id in Topology.RequesterIds(device))
        {
            unit.InvalidateContextDevice(id);
        }
    }

    /// <inheritdoc/>
    public DmaResult Read(Sbdf requester, ulong busAddress, Span<byte> destination)
    {
        return Route(requester, out var id).Read(id, busAddress, destination);
    }

    /// <inheritdoc/>
    public DmaResult Write(Sbdf requester, ulong busAddress, ReadOnlySpan<byte> source)
    {
        return Route(requester, out var id).Write(id, busAddress, source);
    }

    /// <summary>Translates one address of <paramref name="requester"/>'s DMA (after aliasing), recording no fault.</summary>
    public TranslationResult Translate(Sbdf requester, ulong busAddress, DmaAccess access)
    {
        return Route(requester, out var id).Translate(id, busAddress, access);
    }

    private void CheckNames()
    {
        var duplicate = _units.GroupBy(u => u.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new ArgumentException($"two IOMMU units are named '{duplicate.Key}'", "units");
        }

        if (_units.Length > byte.MaxValue)
        {
            throw new ArgumentException($"at most {byte.MaxValue} IOMMU units", "units");
        }
    }

    private void CheckEveryDevice()
    {
        foreach (var function in Topology.Functions)
        {
            IommuUnit? unit = null;
            foreach (var id in Topology.RequesterIds(function.Sbdf))
            {
                var owner = FindUnitFor(id)
                    ?? throw new InvalidOperationException($"{function}: requester ID {id} is in no IOMMU unit's scope");
                if (unit is not null && owner != unit)
                {
                    throw new InvalidOperationException(
                        $"{function}: its requester IDs are split between {unit.Name} and {owner.Name}");
                }

                unit = owner;
            }
        }
    }
}
