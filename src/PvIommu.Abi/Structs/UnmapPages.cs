using System.Buffers.Binary;

namespace PvIommu.Abi.Structs;

/// <summary>
/// <c>struct pv_iommu_unmap_pages</c>, the argument of unmap_pages (spec §2, §3).
/// </summary>
/// <remarks>
/// <code>
/// 0       2         8    16      20        24        28        32
/// [ctx_no][pad0 (6)][dfn][pgsize][nr_pages][unmapped][pad1 (4)]
/// </code>
/// Alignment 8, so 4 bytes of tail padding follow <c>unmapped</c>.
/// </remarks>
public record struct UnmapPages : IAbiStruct<UnmapPages>
{
    /// <summary>Bytes in the encoded struct: <c>sizeof(struct pv_iommu_unmap_pages)</c>.</summary>
    public const int Size = 32;

    /// <summary>Offset of <c>ctx_no</c>.</summary>
    public const int CtxNoOffset = 0;

    /// <summary>Offset of <c>pad0</c>.</summary>
    public const int Pad0Offset = CtxNoOffset + sizeof(ushort);

    /// <summary>Bytes of <c>pad0</c>: padding, written as zero and ignored on input.</summary>
    public const int Pad0Size = 6;

    /// <summary>Offset of <c>dfn</c>.</summary>
    public const int DfnOffset = Pad0Offset + Pad0Size;

    /// <summary>Offset of <c>pgsize</c>.</summary>
    public const int PgsizeOffset = DfnOffset + sizeof(ulong);

    /// <summary>Offset of <c>nr_pages</c>.</summary>
    public const int NrPagesOffset = PgsizeOffset + sizeof(uint);

    /// <summary>Offset of <c>unmapped</c>.</summary>
    public const int UnmappedOffset = NrPagesOffset + sizeof(uint);

    /// <summary>Offset of <c>pad1</c>.</summary>
    public const int Pad1Offset = UnmappedOffset + sizeof(uint);

    /// <summary>Bytes of <c>pad1</c>: padding, written as zero and ignored on input.</summary>
    public const int Pad1Size = 4;

    /// <summary>IN <c>ctx_no</c>: the context to unmap from (not 0).</summary>
    public ushort CtxNo;

    /// <summary>INOUT <c>dfn</c>: the first device frame (advanced on preemption).</summary>
    public ulong Dfn;

    /// <summary>IN <c>pgsize</c>: the page size in bytes, one bit of <c>pgsize_mask</c>.</summary>
    public uint Pgsize;

    /// <summary>INOUT <c>nr_pages</c>: pages of <c>pgsize</c> to unmap (reduced on preemption).</summary>
    public uint NrPages;

    /// <summary>INOUT <c>unmapped</c>: increased by the pages unmapped; callers zero it first.</summary>
    public uint Unmapped;

    /// <summary>Decodes the struct from the first <see cref="Size"/> bytes of <paramref name="source"/>; padding is ignored.</summary>
    /// <exception cref="ArgumentException"><paramref name="source"/> is shorter than <see cref="Size"/>.</exception>
    public static UnmapPages Read(ReadOnlySpan<byte> source)
    {
        AbiSpan.EnsureLength(source.Length, Size, nameof(source));
        return new UnmapPages
        {
            CtxNo = BinaryPrimitives.ReadUInt16LittleEndian(source[CtxNoOffset..]),
            Dfn = BinaryPrimitives.ReadUInt64LittleEndian(source[DfnOffset..]),
            Pgsize = BinaryPrimitives.ReadUInt32LittleEndian(source[PgsizeOffset..]),
            NrPages = BinaryPrimitives.ReadUInt32LittleEndian(source[NrPagesOffset..]),
            Unmapped = BinaryPrimitives.ReadUInt32LittleEndian(source[UnmappedOffset..]),
        };
    }

    /// <summary>Encodes the struct into the first <see cref="Size"/> bytes of <paramref name="destination"/>, padding as zero.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <see cref="Size"/>.</exception>
    public readonly void Write(Span<byte> destination)
    {
        AbiSpan.EnsureLength(destination.Length, Size, nameof(destination));
        BinaryPrimitives.WriteUInt16LittleEndian(destination[CtxNoOffset..], CtxNo);
        destination.Slice(Pad0Offset, Pad0Size).Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(destination[DfnOffset..], Dfn);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[PgsizeOffset..], Pgsize);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[NrPagesOffset..], NrPages);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[UnmappedOffset..], Unmapped);
        destination.Slice(Pad1Offset, Pad1Size).Clear();
    }
}
