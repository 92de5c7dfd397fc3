using PvIommu.Abi.Structs;

namespace PvIommu.Guest;

/// <summary>
/// A PCI function as the driver names it: segment, bus and the packed device/function byte
/// (<c>dev[7:3] fn[2:0]</c>), printed <c>ssss:bb:dd.f</c>. The Guest layer references only the
/// ABI, so it keeps its own address type; <see cref="ToAbi"/> gives the
/// <c>physdev_pci_device</c> that reattach_device carries.
/// </summary>
/// <param name="Segment">PCI segment (domain).</param>
/// <param name="Bus">Bus number.</param>
/// <param name="DevFn">Device (bits 7..3) and function (bits 2..0).</param>
public readonly record struct PciAddress(ushort Segment, byte Bus, byte DevFn)
{
    /// <summary>Device number, 0–31.</summary>
    public byte Device => (byte)(DevFn >> 3);

    /// <summary>Function number, 0–7.</summary>
    public byte Function => (byte)(DevFn & 0x7);

    /// <summary>The address of <paramref name="device"/>.<paramref name="function"/> on <paramref name="bus"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">device above 31 or function above 7.</exception>
    public static PciAddress Of(ushort segment, byte bus, byte device, byte function)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(device, (byte)31);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(function, (byte)7);
        return new PciAddress(segment, bus, (byte)((device << 3) | function));
    }

    /// <summary>The ABI's device struct for this address.</summary>
    public PciDevice ToAbi() => new() { Seg = Segment, Bus = Bus, DevFn = DevFn };

    /// <inheritdoc/>
    public override string ToString() => $"{Segment:x4}:{Bus:x2}:{Device:x2}.{Function:x}";
}
