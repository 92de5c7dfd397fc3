using System.Buffers.Binary;

namespace PvIommu.Abi.Structs;

/// <summary>
/// <c>struct pv_iommu_alloc</c>, the argument of alloc_context (spec §2, §3).
/// </summary>
/// <remarks>
/// <code>
/// 0       2         4            8
/// [ctx_no][pad0 (2)][alloc_flags]
/// </code>
/// Alignment 4. Upstream leaves the padding after <c>ctx_no</c> implicit.
/// </remarks>
public record struct Alloc : IAbiStruct<Alloc>
{
    /// <summary>Bytes in the encoded struct: <c>sizeof(struct pv_iommu_alloc)</c>.</summary>
    public const int Size = 8;

    /// <summary>Offset of <c>ctx_no</c>.</summary>
    public const int CtxNoOffset = 0;

    /// <summary>Offset of <c>pad0</c>.</summary>
    public const int Pad0Offset = CtxNoOffset + sizeof(ushort);

    /// <summary>Bytes of <c>pad0</c>: padding, written as zero and ignored on input.</summary>
    public const int Pad0Size = 2;

    /// <summary>Offset of <c>alloc_flags</c>.</summary>
    public const int AllocFlagsOffset = Pad0Offset + Pad0Size;

    /// <summary>OUT <c>ctx_no</c>: the context allocated (the lowest free number).</summary>
    public ushort CtxNo;

    /// <summary>IN <c>alloc_flags</c>: allocation flags.</summary>
    public AllocFlags AllocFlags;

    /// <summary>Decodes the struct from the first <see cref="Size"/> bytes of <paramref name="source"/>; padding is ignored.</summary>
    /// <exception cref="ArgumentException"><paramref name="source"/> is shorter than <see cref="Size"/>.</exception>
    public static Alloc Read(ReadOnlySpan<byte> source)
    {
        AbiSpan.EnsureLength(source.Length, Size, nameof(source));
        return new Alloc
        {
            CtxNo = BinaryPrimitives.ReadUInt16LittleEndian(source[CtxNoOffset..]),
            AllocFlags = (AllocFlags)BinaryPrimitives.ReadUInt32LittleEndian(source[AllocFlagsOffset..]),
        };
    }

    /// <summary>Encodes the struct into the first <see cref="Size"/> bytes of <paramref name="destination"/>, padding as zero.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <see cref="Size"/>.</exception>
    public readonly void Write(Span<byte> destination)
    {
        AbiSpan.EnsureLength(destination.Length, Size, nameof(destination));
        BinaryPrimitives.WriteUInt16LittleEndian(destination[CtxNoOffset..], CtxNo);
        destination.Slice(Pad0Offset, Pad0Size).Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(destination[AllocFlagsOffset..], (uint)AllocFlags);
    }
}
