using System.Buffers.Binary;

namespace PvIommu.Abi.Structs;

/// <summary>
/// <c>struct pv_iommu_lookup_page</c>, the argument of lookup_page (this project's extension,
/// spec §2, §3): reads one translation back.
/// </summary>
/// <remarks>
/// <code>
/// 0       2         8    16   24         28      32
/// [ctx_no][pad0 (6)][dfn][gfn][map_flags][pgsize]
/// </code>
/// Alignment 8.
/// </remarks>
public record struct LookupPage : IAbiStruct<LookupPage>
{
    /// <summary>Bytes in the encoded struct: <c>sizeof(struct pv_iommu_lookup_page)</c>.</summary>
    public const int Size = 32;

    /// <summary>Offset of <c>ctx_no</c>.</summary>
    public const int CtxNoOffset = 0;

    /// <summary>Offset of <c>pad0</c>.</summary>
    public const int Pad0Offset = CtxNoOffset + sizeof(ushort);

    /// <summary>Bytes of <c>pad0</c>: padding, written as zero and ignored on input.</summary>
    public const int Pad0Size = 6;

    /// <summary>Offset of <c>dfn</c>.</summary>
    public const int DfnOffset = Pad0Offset + Pad0Size;

    /// <summary>Offset of <c>gfn</c>.</summary>
    public const int GfnOffset = DfnOffset + sizeof(ulong);

    /// <summary>Offset of <c>map_flags</c>.</summary>
    public const int MapFlagsOffset = GfnOffset + sizeof(ulong);

    /// <summary>Offset of <c>pgsize</c>.</summary>
    public const int PgsizeOffset = MapFlagsOffset + sizeof(uint);

    /// <summary>IN <c>ctx_no</c>: the context to look in (0 works unless it is opaque).</summary>
    public ushort CtxNo;

    /// <summary>IN <c>dfn</c>: the device frame to look up.</summary>
    public ulong Dfn;

    /// <summary>OUT <c>gfn</c>: the guest frame <c>dfn</c> maps to.</summary>
    public ulong Gfn;

    /// <summary>OUT <c>map_flags</c>: the R/W/cache flags of the mapping.</summary>
    public MapFlags MapFlags;

    /// <summary>OUT <c>pgsize</c>: the size in bytes of the leaf that maps <c>dfn</c>.</summary>
    public uint Pgsize;

    /// <summary>Decodes the struct from the first <see cref="Size"/> bytes of <paramref name="source"/>; padding is ignored.</summary>
    /// <exception cref="ArgumentException"><paramref name="source"/> is shorter than <see cref="Size"/>.</exception>
    public static LookupPage Read(ReadOnlySpan<byte> source)
    {
        AbiSpan.EnsureLength(source.Length, Size, nameof(source));
        return new LookupPage
        {
            CtxNo = BinaryPrimitives.ReadUInt16LittleEndian(source[CtxNoOffset..]),
            Dfn = BinaryPrimitives.ReadUInt64LittleEndian(source[DfnOffset..]),
            Gfn = BinaryPrimitives.ReadUInt64LittleEndian(source[GfnOffset..]),
            MapFlags = (MapFlags)BinaryPrimitives.ReadUInt32LittleEndian(source[MapFlagsOffset..]),
            Pgsize = BinaryPrimitives.ReadUInt32LittleEndian(source[PgsizeOffset..]),
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
        BinaryPrimitives.WriteUInt64LittleEndian(destination[GfnOffset..], Gfn);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[MapFlagsOffset..], (uint)MapFlags);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[PgsizeOffset..], Pgsize);
    }
}
