using System.Buffers.Binary;

namespace PvIommu.Abi.Structs;

/// <summary>
/// <c>struct pv_iommu_detach_pasid</c>, the argument of detach_pasid: declared upstream, not
/// implemented (-EOPNOTSUPP).
/// </summary>
/// <remarks>
/// <code>
/// 0    4      8
/// [dev][pasid]
/// </code>
/// Alignment 4; no padding.
/// </remarks>
public record struct DetachPasid : IAbiStruct<DetachPasid>
{
    /// <summary>Bytes in the encoded struct: <c>sizeof(struct pv_iommu_detach_pasid)</c>.</summary>
    public const int Size = 8;

    /// <summary>Offset of <c>dev</c>.</summary>
    public const int DevOffset = 0;

    /// <summary>Offset of <c>pasid</c>.</summary>
    public const int PasidOffset = DevOffset + PciDevice.Size;

    /// <summary>IN <c>dev</c>: the device.</summary>
    public PciDevice Dev;

    /// <summary>IN <c>pasid</c>: the PASID to detach (not 0).</summary>
    public uint Pasid;

    /// <summary>Decodes the struct from the first <see cref="Size"/> bytes of <paramref name="source"/>; padding is ignored.</summary>
    /// <exception cref="ArgumentException"><paramref name="source"/> is shorter than <see cref="Size"/>.</exception>
    public static DetachPasid Read(ReadOnlySpan<byte> source)
    {
        AbiSpan.EnsureLength(source.Length, Size, nameof(source));
        return new DetachPasid
        {
            Dev = PciDevice.Read(source[DevOffset..]),
            Pasid = BinaryPrimitives.ReadUInt32LittleEndian(source[PasidOffset..]),
        };
    }

    /// <summary>Encodes the struct into the first <see cref="Size"/> bytes of <paramref name="destination"/>, padding as zero.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <see cref="Size"/>.</exception>
    public readonly void Write(Span<byte> destination)
    {
        AbiSpan.EnsureLength(destination.Length, Size, nameof(destination));
        Dev.Write(destination[DevOffset..]);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[PasidOffset..], Pasid);
    }
}
