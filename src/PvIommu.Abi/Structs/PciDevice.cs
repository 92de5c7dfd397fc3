using System.Buffers.Binary;

namespace PvIommu.Abi.Structs;

/// <summary>
/// A PCI device, laid out as Xen's <c>struct physdev_pci_device</c>: segment, bus, device/function.
/// </summary>
/// <remarks>
/// <code>
/// 0    2    3      4
/// [seg][bus][devfn]
/// </code>
/// Size 4, alignment 2. Embedded as <c>dev</c> in reattach, attach_pasid and detach_pasid.
/// </remarks>
public record struct PciDevice : IAbiStruct<PciDevice>
{
    /// <summary>Bytes in the encoded struct: <c>sizeof(struct pv_iommu_pci_device)</c>.</summary>
    public const int Size = 4;

    /// <summary>Offset of <c>seg</c>.</summary>
    public const int SegOffset = 0;

    /// <summary>Offset of <c>bus</c>.</summary>
    public const int BusOffset = SegOffset + sizeof(ushort);

    /// <summary>Offset of <c>devfn</c>.</summary>
    public const int DevFnOffset = BusOffset + sizeof(byte);

    /// <summary><c>seg</c>: the PCI segment.</summary>
    public ushort Seg;

    /// <summary><c>bus</c>: the bus number.</summary>
    public byte Bus;

    /// <summary><c>devfn</c>: device (bits 7..3) and function (bits 2..0).</summary>
    public byte DevFn;

    /// <summary>Decodes the struct from the first <see cref="Size"/> bytes of <paramref name="source"/>; padding is ignored.</summary>
    /// <exception cref="ArgumentException"><paramref name="source"/> is shorter than <see cref="Size"/>.</exception>
    public static PciDevice Read(ReadOnlySpan<byte> source)
    {
        AbiSpan.EnsureLength(source.Length, Size, nameof(source));
        return new PciDevice
        {
            Seg = BinaryPrimitives.ReadUInt16LittleEndian(source[SegOffset..]),
            Bus = source[BusOffset],
            DevFn = source[DevFnOffset],
        };
    }

    /// <summary>Encodes the struct into the first <see cref="Size"/> bytes of <paramref name="destination"/>, padding as zero.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <see cref="Size"/>.</exception>
    public readonly void Write(Span<byte> destination)
    {
        AbiSpan.EnsureLength(destination.Length, Size, nameof(destination));
        BinaryPrimitives.WriteUInt16LittleEndian(destination[SegOffset..], Seg);
        destination[BusOffset] = Bus;
        destination[DevFnOffset] = DevFn;
    }
}
