using System.Buffers.Binary;

namespace PvIommu.Abi.Structs;

/// <summary>
/// <c>struct pv_iommu_alloc_nested</c>, the argument of alloc_nested: declared upstream, not
/// implemented (-EOPNOTSUPP).
/// </summary>
/// <remarks>
/// <code>
/// 0       2         8            16            24
/// [ctx_no][pad0 (6)][pgtable_gfn][nested_flags]
/// </code>
/// Alignment 8. Upstream declares <c>nested_flags</c> as a 64-bit aligned field.
/// </remarks>
public record struct AllocNested : IAbiStruct<AllocNested>
{
    /// <summary>Bytes in the encoded struct: <c>sizeof(struct pv_iommu_alloc_nested)</c>.</summary>
    public const int Size = 24;

    /// <summary>Offset of <c>ctx_no</c>.</summary>
    public const int CtxNoOffset = 0;

    /// <summary>Offset of <c>pad0</c>.</summary>
    public const int Pad0Offset = CtxNoOffset + sizeof(ushort);

    /// <summary>Bytes of <c>pad0</c>: padding, written as zero and ignored on input.</summary>
    public const int Pad0Size = 6;

    /// <summary>Offset of <c>pgtable_gfn</c>.</summary>
    public const int PgtableGfnOffset = Pad0Offset + Pad0Size;

    /// <summary>Offset of <c>nested_flags</c>.</summary>
    public const int NestedFlagsOffset = PgtableGfnOffset + sizeof(ulong);

    /// <summary>OUT <c>ctx_no</c>: the nested context allocated.</summary>
    public ushort CtxNo;

    /// <summary>IN <c>pgtable_gfn</c>: the guest frame of the nested page table.</summary>
    public ulong PgtableGfn;

    /// <summary>IN <c>nested_flags</c>: nested mode flags.</summary>
    public ulong NestedFlags;

    /// <summary>Decodes the struct from the first <see cref="Size"/> bytes of <paramref name="source"/>; padding is ignored.</summary>
    /// <exception cref="ArgumentException"><paramref name="source"/> is shorter than <see cref="Size"/>.</exception>
    public static AllocNested Read(ReadOnlySpan<byte> source)
    {
        AbiSpan.EnsureLength(source.Length, Size, nameof(source));
        return new AllocNested
        {
            CtxNo = BinaryPrimitives.ReadUInt16LittleEndian(source[CtxNoOffset..]),
            PgtableGfn = BinaryPrimitives.ReadUInt64LittleEndian(source[PgtableGfnOffset..]),
            NestedFlags = BinaryPrimitives.ReadUInt64LittleEndian(source[NestedFlagsOffset..]),
        };
    }

    /// <summary>Encodes the struct into the first <see cref="Size"/> bytes of <paramref name="destination"/>, padding as zero.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <see cref="Size"/>.</exception>
    public readonly void Write(Span<byte> destination)
    {
        AbiSpan.EnsureLength(destination.Length, Size, nameof(destination));
        BinaryPrimitives.WriteUInt16LittleEndian(destination[CtxNoOffset..], CtxNo);
        destination.Slice(Pad0Offset, Pad0Size).Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(destination[PgtableGfnOffset..], PgtableGfn);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[NestedFlagsOffset..], NestedFlags);
    }
}
