using System.Buffers.Binary;

namespace PvIommu.Abi.Structs;

/// <summary>
/// <c>struct pv_iommu_reattach_device</c>, the argument of reattach_device (spec §2, §3).
/// </summary>
/// <remarks>
/// <code>
/// 0       2    6         8      12
/// [ctx_no][dev][pad0 (2)][pasid]
/// </code>
/// Alignment 4. <c>dev</c> is a <see cref="PciDevice"/> (seg @2, bus @4, devfn @5).
/// </remarks>
public record struct ReattachDevice : IAbiStruct<ReattachDevice>
{
    /// <summary>Bytes in the encoded struct: <c>sizeof(struct pv_iommu_reattach_device)</c>.</summary>
    public const int Size = 12;

    /// <summary>Offset of <c>ctx_no</c>.</summary>
    public const int CtxNoOffset = 0;

    /// <summary>Offset of <c>dev</c>.</summary>
    public const int DevOffset = CtxNoOffset + sizeof(ushort);

    /// <summary>Offset of <c>pad0</c>.</summary>
    public const int Pad0Offset = DevOffset + PciDevice.Size;

    /// <summary>Bytes of <c>pad0</c>: padding, written as zero and ignored on input.</summary>
    public const int Pad0Size = 2;

    /// <summary>Offset of <c>pasid</c>.</summary>
    public const int PasidOffset = Pad0Offset + Pad0Size;

    /// <summary>IN <c>ctx_no</c>: the target context (0 is always valid).</summary>
    public ushort CtxNo;

    /// <summary>IN <c>dev</c>: the device to move.</summary>
    public PciDevice Dev;

    /// <summary>IN <c>pasid</c>: the PASID; must be 0 (no PASID capability).</summary>
    public uint Pasid;

    /// <summary>Decodes the struct from the first <see cref="Size"/> bytes of <paramref name="source"/>; padding is ignored.</summary>
    /// <exception cref="ArgumentException"><paramref name="source"/> is shorter than <see cref="Size"/>.</exception>
    public static ReattachDevice Read(ReadOnlySpan<byte> source)
    {
        AbiSpan.EnsureLength(source.Length, Size, nameof(source));
        return new ReattachDevice
        {
            CtxNo = BinaryPrimitives.ReadUInt16LittleEndian(source[CtxNoOffset..]),
            Dev = PciDevice.Read(source[DevOffset..]),
            Pasid = BinaryPrimitives.ReadUInt32LittleEndian(source[PasidOffset..]),
        };
    }

    /// <summary>Encodes the struct into the first <see cref="Size"/> bytes of <paramref name="destination"/>, padding as zero.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <see cref="Size"/>.</exception>
    public readonly void Write(Span<byte> destination)
    {
        AbiSpan.EnsureLength(destination.Length, Size, nameof(destination));
        BinaryPrimitives.WriteUInt16LittleEndian(destination[CtxNoOffset..], CtxNo);
        Dev.Write(destination[DevOffset..]);
        destination.Slice(Pad0Offset, Pad0Size).Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(destination[PasidOffset..], Pasid);
    }
}
