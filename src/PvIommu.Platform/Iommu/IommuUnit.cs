using PvIommu.Platform.Memory;
using PvIommu.Platform.PageTables;

namespace PvIommu.Platform.Iommu;

/// <summary>
/// One IOMMU unit (a VT-d DRHD or an AMD-Vi IVHD): its context table and context cache, its
/// IOTLB, its fault log, and the translation of the DMA of the requester IDs in its scope.
/// </summary>
/// <remarks>
/// The hypervisor programs it as it programs hardware: write a context entry
/// (<see cref="SetContext"/>), invalidate the context cache and the IOTLB, and only then
/// rely on the change; until then the caches keep serving what they hold.
/// Not thread-safe: its owner serialises access (one event at a time in the simulation).
/// </remarks>
public sealed partial class IommuUnit : IDmaPort
{
    private readonly MachineMemory _memory;
    private long _translations;
    private long _walks;
    private long _walkSteps;
    private long _faults;

    /// <summary>A unit with every requester blocked, empty caches and an empty fault log.</summary>
    /// <exception cref="ArgumentException">an invalid description.</exception>
    public IommuUnit(IommuUnitDescription description, MachineMemory memory)
    {
        ArgumentNullException.ThrowIfNull(description);
        ArgumentNullException.ThrowIfNull(memory);
        description.Validate();
        Description = description;
        _memory = memory;
        Format = description.Format;
        Levels = description.Levels;
        Segment = description.Segment;
        Iotlb = new Iotlb(description.Iotlb);
        Faults = new FaultLog(description.FaultLogCapacity);
        (_blockedLo, _blockedHi) = Encode(DeviceContext.Blocked);
    }

    /// <summary>The firmware description it was built from.</summary>
    public IommuUnitDescription Description { get; }

    /// <summary>The unit's name.</summary>
    public string Name => Description.Name;

    /// <summary>The page-table format it walks.</summary>
    public PageTableFormat Format { get; }

    /// <summary>The most paging levels it walks (4 or 5).</summary>
    public int Levels { get; }

    /// <summary>The widest bus address it translates, in bits (48 or 57).</summary>
    public int AddressWidth => Description.AddressWidth;

    /// <summary>The PCI segment it serves.</summary>
    public ushort Segment { get; }

    /// <summary>Its IOTLB (invalidate through it).</summary>
    public Iotlb Iotlb { get; }

    /// <summary>Its fault log.</summary>
    public FaultLog Faults { get; }

    /// <summary>Translations so far (<see cref="IommuCounters.Translations"/>, read alone: a cost meter reads it around every DMA).</summary>
    public long TranslationCount => _translations;

    /// <summary>Page walks so far (<see cref="IommuCounters.Walks"/>, read alone).</summary>
    public long WalkCount => _walks;

    /// <summary>Table entries the walks read (<see cref="IommuCounters.WalkSteps"/>, read alone).</summary>
    public long WalkStepCount => _walkSteps;

    /// <summary>A snapshot of its counters.</summary>
    public IommuCounters Counters => new(
        _translations,
        _walks,
        _walkSteps,
        _faults,
        _contextHits,
        _contextMisses,
        _contextDeviceInvalidations,
        _contextDomainInvalidations,
        _contextGlobalInvalidations,
        Iotlb.Counters);

    /// <inheritdoc/>
    public override string ToString() => $"{Name} ({Format}, {Levels} levels, segment {Segment:x4})";
}
