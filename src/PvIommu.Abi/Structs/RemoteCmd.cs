using System.Buffers.Binary;

namespace PvIommu.Abi.Structs;

/// <summary>
/// <c>struct pv_iommu_remote_cmd</c>, the argument of remote_cmd (spec §2, §3): runs <c>subop</c> on
/// domain <c>domid</c>.
/// </summary>
/// <remarks>
/// <code>
/// 0      2      4         8    16
/// [domid][subop][pad0 (4)][arg]
/// </code>
/// Alignment 8. <c>arg</c> is a guest handle: on x86-64 the address of the inner struct in the
/// caller's memory, which is INOUT. Over the wire protocol it is ignored and the inner struct
/// follows this one.
/// </remarks>
public record struct RemoteCmd : IAbiStruct<RemoteCmd>
{
    /// <summary>Bytes in the encoded struct: <c>sizeof(struct pv_iommu_remote_cmd)</c>.</summary>
    public const int Size = 16;

    /// <summary>Offset of <c>domid</c>.</summary>
    public const int DomidOffset = 0;

    /// <summary>Offset of <c>subop</c>.</summary>
    public const int SubopOffset = DomidOffset + sizeof(ushort);

    /// <summary>Offset of <c>pad0</c>.</summary>
    public const int Pad0Offset = SubopOffset + sizeof(ushort);

    /// <summary>Bytes of <c>pad0</c>: padding, written as zero and ignored on input.</summary>
    public const int Pad0Size = 4;

    /// <summary>Offset of <c>arg</c>.</summary>
    public const int ArgOffset = Pad0Offset + Pad0Size;

    /// <summary>IN <c>domid</c>: the target domain.</summary>
    public ushort Domid;

    /// <summary>IN <c>subop</c>: the inner sub-op (u16; bits above 15 are dropped on write).</summary>
    public SubOp Subop;

    /// <summary>IN <c>arg</c>: guest handle (address) of the inner argument struct.</summary>
    public ulong Arg;

    /// <summary>Decodes the struct from the first <see cref="Size"/> bytes of <paramref name="source"/>; padding is ignored.</summary>
    /// <exception cref="ArgumentException"><paramref name="source"/> is shorter than <see cref="Size"/>.</exception>
    public static RemoteCmd Read(ReadOnlySpan<byte> source)
    {
        AbiSpan.EnsureLength(source.Length, Size, nameof(source));
        return new RemoteCmd
        {
            Domid = BinaryPrimitives.ReadUInt16LittleEndian(source[DomidOffset..]),
            Subop = (SubOp)BinaryPrimitives.ReadUInt16LittleEndian(source[SubopOffset..]),
            Arg = BinaryPrimitives.ReadUInt64LittleEndian(source[ArgOffset..]),
        };
    }

    /// <summary>Encodes the struct into the first <see cref="Size"/> bytes of <paramref name="destination"/>, padding as zero.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <see cref="Size"/>.</exception>
    public readonly void Write(Span<byte> destination)
    {
        AbiSpan.EnsureLength(destination.Length, Size, nameof(destination));
        BinaryPrimitives.WriteUInt16LittleEndian(destination[DomidOffset..], Domid);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[SubopOffset..], (ushort)Subop);
        destination.Slice(Pad0Offset, Pad0Size).Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(destination[ArgOffset..], Arg);
    }
}
