using PvIommu.Platform.PageTables;

namespace PvIommu.Platform.Iommu;

/// <summary>What firmware and capability registers say about one IOMMU unit.</summary>
/// <param name="Name">A unique name ("dmar0", "ivhd0").</param>
/// <param name="Format">The page-table format it walks.</param>
/// <param name="Levels">Paging levels it supports, 4 (48-bit addresses) or 5 (57-bit).</param>
/// <param name="Segment">The PCI segment it serves.</param>
/// <param name="Scope">The requester IDs of that segment it translates.</param>
public sealed record IommuUnitDescription(string Name, PageTableFormat Format, int Levels, ushort Segment, DeviceScope Scope)
{
    /// <summary>The IOTLB's shape.</summary>
    public IotlbGeometry Iotlb { get; init; } = IotlbGeometry.Default;

    /// <summary>Records the fault log holds before it overflows.</summary>
    public int FaultLogCapacity { get; init; } = 64;

    /// <summary>Bits of bus address a table of <see cref="Levels"/> levels covers (48 or 57).</summary>
    public int AddressWidth => 12 + (PageLevel.Bits * Levels);

    /// <summary>Checks the description.</summary>
    /// <exception cref="ArgumentException">an empty name, an unknown format, levels other than 4 or 5, a bad IOTLB shape or fault-log capacity.</exception>
    public void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(Name);
        ArgumentNullException.ThrowIfNull(Scope);
        if (!Enum.IsDefined(Format))
        {
            throw new ArgumentOutOfRangeException(nameof(Format), Format, "unknown page-table format");
        }

        if (Levels is not (4 or 5))
        {
            throw new ArgumentOutOfRangeException(nameof(Levels), Levels, "an IOMMU unit walks 4-level (48-bit) or 5-level (57-bit) tables");
        }

        ArgumentNullException.ThrowIfNull(Iotlb);
        Iotlb.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(FaultLogCapacity, 1);
    }
}
