using System.Buffers.Binary;

namespace PvIommu.Abi.Structs;

/// <summary>
/// <c>struct pv_iommu_map_pages</c>, the argument of map_pages (spec §2, §3).
/// </summary>
/// <remarks>
/// <code>
/// 0       2         8    16   24         28      32        36      40
/// [ctx_no][pad0 (6)][gfn][dfn][map_flags][pgsize][nr_pages][mapped]
/// </code>
/// Alignment 8. On preemption the hypervisor writes progress back (spec §4): <c>gfn</c> and
/// <c>dfn</c> advance, <c>nr_pages</c> shrinks and <c>mapped</c> grows.
/// </remarks>
public record struct MapPages : IAbiStruct<MapPages>
{
    /// <summary>Bytes in the encoded struct: <c>sizeof(struct pv_iommu_map_pages)</c>.</summary>
    public const int Size = 40;

    /// <summary>Offset of <c>ctx_no</c>.</summary>
    public const int CtxNoOffset = 0;

    /// <summary>Offset of <c>pad0</c>.</summary>
    public const int Pad0Offset = CtxNoOffset + sizeof(ushort);

    /// <summary>Bytes of <c>pad0</c>: padding, written as zero and ignored on input.</summary>
    public const int Pad0Size = 6;

    /// <summary>Offset of <c>gfn</c>.</summary>
    public const int GfnOffset = Pad0Offset + Pad0Size;

    /// <summary>Offset of <c>dfn</c>.</summary>
    public const int DfnOffset = GfnOffset + sizeof(ulong);

    /// <summary>Offset of <c>map_flags</c>.</summary>
    public const int MapFlagsOffset = DfnOffset + sizeof(ulong);

    /// <summary>Offset of <c>pgsize</c>.</summary>
    public const int PgsizeOffset = MapFlagsOffset + sizeof(uint);

    /// <summary>Offset of <c>nr_pages</c>.</summary>
    public const int NrPagesOffset = PgsizeOffset + sizeof(uint);

    /// <summary>Offset of <c>mapped</c>.</summary>
    public const int MappedOffset = NrPagesOffset + sizeof(uint);

    /// <summary>IN <c>ctx_no</c>: the context to map into (not 0).</summary>
    public ushort CtxNo;

    /// <summary>INOUT <c>gfn</c>: the first guest frame (advanced on preemption).</summary>
    public ulong Gfn;

    /// <summary>INOUT <c>dfn</c>: the first device frame (advanced on preemption).</summary>
    public ulong Dfn;

    /// <summary>IN <c>map_flags</c>: access and behaviour flags.</summary>
    public MapFlags MapFlags;

    /// <summary>IN <c>pgsize</c>: the page size in bytes, one bit of <c>pgsize_mask</c>.</summary>
    public uint Pgsize;

    /// <summary>INOUT <c>nr_pages</c>: pages of <c>pgsize</c> to map (reduced on preemption).</summary>
    public uint NrPages;

    /// <summary>INOUT <c>mapped</c>: increased by the pages mapped; callers zero it first.</summary>
    public uint Mapped;

    /// <summary>Decodes the struct from the first <see cref="Size"/> bytes of <paramref name="source"/>; padding is ignored.</summary>
    /// <exception cref="ArgumentException"><paramref name="source"/> is shorter than <see cref="Size"/>.</exception>
    public static MapPages Read(ReadOnlySpan<byte> source)
    {
        AbiSpan.EnsureLength(source.Length, Size, nameof(source));
        return new MapPages
        {
            CtxNo = BinaryPrimitives.ReadUInt16LittleEndian(source[CtxNoOffset..]),
            Gfn = BinaryPrimitives.ReadUInt64LittleEndian(source[GfnOffset..]),
            Dfn = BinaryPrimitives.ReadUInt64LittleEndian(source[DfnOffset..]),
            MapFlags = (MapFlags)BinaryPrimitives.ReadUInt32LittleEndian(source[MapFlagsOffset..]),
            Pgsize = BinaryPrimitives.ReadUInt32LittleEndian(source[PgsizeOffset..]),
            NrPages = BinaryPrimitives.ReadUInt32LittleEndian(source[NrPagesOffset..]),
            Mapped = BinaryPrimitives.ReadUInt32LittleEndian(source[MappedOffset..]),
        };
    }

    /// <summary>Encodes the struct into the first <see cref="Size"/> bytes of <paramref name="destination"/>, padding as zero.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <see cref="Size"/>.</exception>
    public readonly void Write(Span<byte> destination)
    {
        AbiSpan.EnsureLength(destination.Length, Size, nameof(destination));
        BinaryPrimitives.WriteUInt16LittleEndian(destination[CtxNoOffset..], CtxNo);
        destination.Slice(Pad0Offset, Pad0Size).Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(destination[GfnOffset..], Gfn);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[DfnOffset..], Dfn);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[MapFlagsOffset..], (uint)MapFlags);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[PgsizeOffset..], Pgsize);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[NrPagesOffset..], NrPages);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[MappedOffset..], Mapped);
    }
}
