using System.Buffers.Binary;

namespace PvIommu.Abi.Structs;

/// <summary>
/// <c>struct pv_iommu_free</c>, the argument of free_context (spec §2, §3).
/// </summary>
/// <remarks>
/// <code>
/// 0       2         4           8
/// [ctx_no][pad0 (2)][free_flags]
/// </code>
/// Alignment 4. Upstream leaves the padding after <c>ctx_no</c> implicit.
/// </remarks>
public record struct Free : IAbiStruct<Free>
{
    /// <summary>Bytes in the encoded struct: <c>sizeof(struct pv_iommu_free)</c>.</summary>
    public const int Size = 8;

    /// <summary>Offset of <c>ctx_no</c>.</summary>
    public const int CtxNoOffset = 0;

    /// <summary>Offset of <c>pad0</c>.</summary>
    public const int Pad0Offset = CtxNoOffset + sizeof(ushort);

    /// <summary>Bytes of <c>pad0</c>: padding, written as zero and ignored on input.</summary>
    public const int Pad0Size = 2;

    /// <summary>Offset of <c>free_flags</c>.</summary>
    public const int FreeFlagsOffset = Pad0Offset + Pad0Size;

    /// <summary>IN <c>ctx_no</c>: the context to free (not 0).</summary>
    public ushort CtxNo;

    /// <summary>IN <c>free_flags</c>: free flags.</summary>
    public FreeFlags FreeFlags;

    /// <summary>Decodes the struct from the first <see cref="Size"/> bytes of <paramref name="source"/>; padding is ignored.</summary>
    /// <exception cref="ArgumentException"><paramref name="source"/> is shorter than <see cref="Size"/>.</exception>
    public static Free Read(ReadOnlySpan<byte> source)
    {
        AbiSpan.EnsureLength(source.Length, Size, nameof(source));
        return new Free
        {
            CtxNo = BinaryPrimitives.ReadUInt16LittleEndian(source[CtxNoOffset..]),
            FreeFlags = (FreeFlags)BinaryPrimitives.ReadUInt32LittleEndian(source[FreeFlagsOffset..]),
        };
    }

    /// <summary>Encodes the struct into the first <see cref="Size"/> bytes of <paramref name="destination"/>, padding as zero.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <see cref="Size"/>.</exception>
    public readonly void Write(Span<byte> destination)
    {
        AbiSpan.EnsureLength(destination.Length, Size, nameof(destination));
        BinaryPrimitives.WriteUInt16LittleEndian(destination[CtxNoOffset..], CtxNo);
        destination.Slice(Pad0Offset, Pad0Size).Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(destination[FreeFlagsOffset..], (uint)FreeFlags);
    }
}
