using System.Buffers.Binary;

namespace PvIommu.Abi.Structs;

/// <summary>
/// <c>struct pv_iommu_init</c>, the argument of init (spec §2, §3): the domain's one-shot limits.
/// </summary>
/// <remarks>
/// <code>
/// 0           4            8
/// [max_ctx_no][arena_order]
/// </code>
/// Alignment 4; no padding.
/// </remarks>
public record struct Init : IAbiStruct<Init>
{
    /// <summary>Bytes in the encoded struct: <c>sizeof(struct pv_iommu_init)</c>.</summary>
    public const int Size = 8;

    /// <summary>Offset of <c>max_ctx_no</c>.</summary>
    public const int MaxCtxNoOffset = 0;

    /// <summary>Offset of <c>arena_order</c>.</summary>
    public const int ArenaOrderOffset = MaxCtxNoOffset + sizeof(uint);

    /// <summary>IN <c>max_ctx_no</c>: the number of non-default contexts, 1..65534.</summary>
    public uint MaxCtxNo;

    /// <summary>IN <c>arena_order</c>: the page-table arena holds 2^order pages, 0..20.</summary>
    public uint ArenaOrder;

    /// <summary>Decodes the struct from the first <see cref="Size"/> bytes of <paramref name="source"/>; padding is ignored.</summary>
    /// <exception cref="ArgumentException"><paramref name="source"/> is shorter than <see cref="Size"/>.</exception>
    public static Init Read(ReadOnlySpan<byte> source)
    {
        AbiSpan.EnsureLength(source.Length, Size, nameof(source));
        return new Init
        {
            MaxCtxNo = BinaryPrimitives.ReadUInt32LittleEndian(source[MaxCtxNoOffset..]),
            ArenaOrder = BinaryPrimitives.ReadUInt32LittleEndian(source[ArenaOrderOffset..]),
        };
    }

    /// <summary>Encodes the struct into the first <see cref="Size"/> bytes of <paramref name="destination"/>, padding as zero.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <see cref="Size"/>.</exception>
    public readonly void Write(Span<byte> destination)
    {
        AbiSpan.EnsureLength(destination.Length, Size, nameof(destination));
        BinaryPrimitives.WriteUInt32LittleEndian(destination[MaxCtxNoOffset..], MaxCtxNo);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[ArenaOrderOffset..], ArenaOrder);
    }
}
