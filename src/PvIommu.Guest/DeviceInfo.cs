namespace PvIommu.Guest;

/// <summary>
/// What the driver's platform description says about one PCI device. The ABI has no way to
/// discover a device's reserved regions (Linux's driver used a tools-only memory op for it,
/// which Xen reviewers rejected), so the driver takes them from here, as it would from ACPI.
/// </summary>
/// <param name="Address">The function's address.</param>
/// <param name="Reserved">Its firmware regions (RMRRs); the MSI window is added by the driver.</param>
public sealed record DeviceInfo(PciAddress Address, IReadOnlyList<ReservedRange> Reserved)
{
    /// <summary>A device with no firmware region.</summary>
    public DeviceInfo(PciAddress address)
        : this(address, [])
    {
    }
}
