namespace PvIommu.Guest;

/// <summary>
/// An IOMMU domain of the driver: one PV-IOMMU context and the devices attached to it.
/// </summary>
public abstract class IommuDomain
{
    private protected IommuDomain(XenIommuDriver driver, ushort contextNo)
    {
        Driver = driver;
        ContextNo = contextNo;
    }

    /// <summary>The driver that made it.</summary>
    public XenIommuDriver Driver { get; }

    /// <summary>The context number (0 for the identity domain).</summary>
    public ushort ContextNo { get; }

    /// <summary>The devices attached to it now.</summary>
    public IReadOnlyCollection<PciAddress> Devices => DeviceSet;

    internal HashSet<PciAddress> DeviceSet { get; } = [];

    /// <summary>
    /// <c>iova_to_phys</c>: the guest byte address <paramref name="iova"/> reaches, written to
    /// <paramref name="phys"/> (0 when it reaches nothing).
    /// </summary>
    /// <returns>0, -ENOENT when nothing is mapped there, or the hypervisor's error.</returns>
    public abstract int IovaToPhys(ulong iova, out ulong phys);

    /// <inheritdoc/>
    public override string ToString() => $"ctx {ContextNo} ({Devices.Count} devices)";
}
