using PvIommu.Platform.Pci;

namespace PvIommu.Platform.Iommu;

/// <summary>An inclusive range of bus numbers on the unit's segment.</summary>
/// <param name="First">The first bus.</param>
/// <param name="Last">The last bus (not below <paramref name="First"/>).</param>
public readonly record struct BusRange(byte First, byte Last)
{
    /// <summary>Whether <paramref name="bus"/> lies in the range.</summary>
    public bool Contains(byte bus) => bus >= First && bus <= Last;

    /// <inheritdoc/>
    public override string ToString() => $"{First:x2}-{Last:x2}";
}

/// <summary>
/// Which requester IDs of its segment an IOMMU unit translates, as firmware describes it: a
/// VT-d DRHD with explicit device scope entries or with INCLUDE_PCI_ALL (ACPI DMAR table,
/// VT-d spec §8.3), or an AMD IVHD with its device entries (ACPI IVRS table).
/// </summary>
/// <remarks>
/// Explicit entries win over include-all: an include-all unit takes every ID of its segment
/// that no other unit names. A device entry that names a bridge covers the bus range behind
/// it (a DMAR "PCI sub-hierarchy" entry); one that names a device covers its phantom functions.
/// </remarks>
public sealed class DeviceScope
{
    private DeviceScope(bool includeAll, Sbdf[] devices, BusRange[] busRanges)
    {
        IncludesAll = includeAll;
        Devices = devices;
        BusRanges = busRanges;
    }

    /// <summary>Every requester ID of the segment not claimed by another unit (INCLUDE_PCI_ALL).</summary>
    public static DeviceScope IncludeAll { get; } = new(true, [], []);

    /// <summary>Whether this is an include-all scope.</summary>
    public bool IncludesAll { get; }

    /// <summary>Devices named explicitly.</summary>
    public IReadOnlyList<Sbdf> Devices { get; }

    /// <summary>Bus ranges named explicitly (every ID on those buses).</summary>
    public IReadOnlyList<BusRange> BusRanges { get; }

    /// <summary>An explicit scope of devices and bus ranges.</summary>
    /// <exception cref="ArgumentException">an empty scope, or a bus range with its ends swapped.</exception>
    public static DeviceScope Of(IEnumerable<Sbdf> devices, IEnumerable<BusRange>? busRanges = null)
    {
        ArgumentNullException.ThrowIfNull(devices);
        var d = devices.ToArray();
        var b = busRanges?.ToArray() ?? [];
        if (d.Length == 0 && b.Length == 0)
        {
            throw new ArgumentException("an explicit scope names at least one device or bus range", nameof(devices));
        }

        foreach (var range in b)
        {
            if (range.Last < range.First)
            {
                throw new ArgumentException($"bus range {range} runs backwards", nameof(busRanges));
            }
        }

        return new DeviceScope(false, d, b);
    }

    /// <summary>An explicit scope of whole buses.</summary>
    public static DeviceScope OfBuses(params BusRange[] busRanges) => Of([], busRanges);

    /// <inheritdoc/>
    public override string ToString() => IncludesAll
        ? "include-all"
        : string.Join(", ", Devices.Select(d => d.ToString()).Concat(BusRanges.Select(r => $"bus {r}")));
}
