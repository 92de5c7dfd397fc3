using System.Buffers.Binary;

namespace PvIommu.Abi.Structs;

/// <summary>
/// <c>struct pv_iommu_capabilities</c>, filled by query_capabilities (spec §2, §3).
/// </summary>
/// <remarks>
/// <code>
/// 0              8          12           16         20          22        24
/// [max_iova_addr][cap_flags][pgsize_mask][max_pasid][max_ctx_no][pad0 (2)]
/// </code>
/// Every field is OUT. <c>pad0</c> is the only padding upstream names; this project writes it as zero.
/// </remarks>
public record struct Capabilities : IAbiStruct<Capabilities>
{
    /// <summary>Bytes in the encoded struct: <c>sizeof(struct pv_iommu_capabilities)</c>.</summary>
    public const int Size = 24;

    /// <summary>Offset of <c>max_iova_addr</c>.</summary>
    public const int MaxIovaAddrOffset = 0;

    /// <summary>Offset of <c>cap_flags</c>.</summary>
    public const int CapFlagsOffset = MaxIovaAddrOffset + sizeof(ulong);

    /// <summary>Offset of <c>pgsize_mask</c>.</summary>
    public const int PgsizeMaskOffset = CapFlagsOffset + sizeof(uint);

    /// <summary>Offset of <c>max_pasid</c>.</summary>
    public const int MaxPasidOffset = PgsizeMaskOffset + sizeof(uint);

    /// <summary>Offset of <c>max_ctx_no</c>.</summary>
    public const int MaxCtxNoOffset = MaxPasidOffset + sizeof(uint);

    /// <summary>Offset of <c>pad0</c>.</summary>
    public const int Pad0Offset = MaxCtxNoOffset + sizeof(ushort);

    /// <summary>Bytes of <c>pad0</c>: padding, written as zero and ignored on input.</summary>
    public const int Pad0Size = 2;

    /// <summary>OUT <c>max_iova_addr</c>: the highest device address the contexts accept.</summary>
    public ulong MaxIovaAddr;

    /// <summary>OUT <c>cap_flags</c>: what this hypervisor supports.</summary>
    public CapFlags CapFlags;

    /// <summary>OUT <c>pgsize_mask</c>: the OR of the supported page sizes in bytes.</summary>
    public uint PgsizeMask;

    /// <summary>OUT <c>max_pasid</c>: the largest PASID (0: no PASID support).</summary>
    public uint MaxPasid;

    /// <summary>OUT <c>max_ctx_no</c>: the number of non-default contexts the domain may use (0 before init).</summary>
    public ushort MaxCtxNo;

    /// <summary>Decodes the struct from the first <see cref="Size"/> bytes of <paramref name="source"/>; padding is ignored.</summary>
    /// <exception cref="ArgumentException"><paramref name="source"/> is shorter than <see cref="Size"/>.</exception>
    public static Capabilities Read(ReadOnlySpan<byte> source)
    {
        AbiSpan.EnsureLength(source.Length, Size, nameof(source));
        return new Capabilities
        {
            MaxIovaAddr = BinaryPrimitives.ReadUInt64LittleEndian(source[MaxIovaAddrOffset..]),
            CapFlags = (CapFlags)BinaryPrimitives.ReadUInt32LittleEndian(source[CapFlagsOffset..]),
            PgsizeMask = BinaryPrimitives.ReadUInt32LittleEndian(source[PgsizeMaskOffset..]),
            MaxPasid = BinaryPrimitives.ReadUInt32LittleEndian(source[MaxPasidOffset..]),
            MaxCtxNo = BinaryPrimitives.ReadUInt16LittleEndian(source[MaxCtxNoOffset..]),
        };
    }

    /// <summary>Encodes the struct into the first <see cref="Size"/> bytes of <paramref name="destination"/>, padding as zero.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <see cref="Size"/>.</exception>
    public readonly void Write(Span<byte> destination)
    {
        AbiSpan.EnsureLength(destination.Length, Size, nameof(destination));
        BinaryPrimitives.WriteUInt64LittleEndian(destination[MaxIovaAddrOffset..], MaxIovaAddr);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[CapFlagsOffset..], (uint)CapFlags);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[PgsizeMaskOffset..], PgsizeMask);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[MaxPasidOffset..], MaxPasid);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[MaxCtxNoOffset..], MaxCtxNo);
        destination.Slice(Pad0Offset, Pad0Size).Clear();
    }
}
