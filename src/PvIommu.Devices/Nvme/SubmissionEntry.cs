using System.Buffers.Binary;

namespace PvIommu.Devices.Nvme;

/// <summary>
/// An NVM command as it sits in a submission queue: 64 bytes, little-endian (NVM Express Base
/// Specification 1.4, §4.2 "Submission Queue Entry", with the Read/Write fields of the NVM
/// command set §6.9/§6.15).
/// </summary>
/// <remarks>
/// <code>
///  byte  0      1       2 ..... 3   4 ...... 7   8 ..... 15   16 ..... 23
///       [ OPC ][ flags ][   CID   ][   NSID    ][ reserved  ][   MPTR    ]
///  byte 24 ..... 31   32 ..... 39   40 ...... 47   48 ..... 49   50 .... 63
///       [   PRP1    ][   PRP2    ][    SLBA     ][    NLB    ][ reserved ]
///  flags: bits 1:0 FUSE, bits 7:6 PSDT — both must be 0 here (no fused commands, PRPs only)
///  NLB: number of logical blocks, 0-based (0 = one block)
/// </code>
/// Data pointer (§4.3): PRP1 is the first page, with an offset (dword aligned). If the data
/// ends within PRP1's page, PRP2 is unused; if it ends in the next page, PRP2 is that page;
/// otherwise PRP2 points at a PRP list of page addresses (offset 0), whose last entry in a
/// page chains to the next list page when more entries are needed:
/// <code>
///  PRP1 ─► data page 0 (may start at an offset)
///  PRP2 ─► [ page 1 ][ page 2 ] … [ page 511 | or ─► next list page ]
/// </code>
/// </remarks>
/// <param name="Opcode">The command.</param>
/// <param name="CommandId">CID: the driver's tag, echoed in the completion.</param>
/// <param name="NamespaceId">NSID (the controller has namespace 1).</param>
/// <param name="Prp1">First data pointer.</param>
/// <param name="Prp2">Second data pointer or PRP list pointer.</param>
/// <param name="StartLba">SLBA: the first logical block.</param>
/// <param name="Nlb">NLB: the number of logical blocks minus one.</param>
/// <param name="Flags">FUSE and PSDT (must be 0).</param>
public readonly record struct SubmissionEntry(
    NvmeOpcode Opcode,
    ushort CommandId,
    uint NamespaceId,
    ulong Prp1,
    ulong Prp2,
    ulong StartLba,
    ushort Nlb,
    byte Flags = 0)
{
    /// <summary>Bytes in one entry.</summary>
    public const int Size = 64;

    /// <summary>Offset of the opcode byte.</summary>
    public const int OpcodeOffset = 0;

    /// <summary>Offset of the FUSE/PSDT byte.</summary>
    public const int FlagsOffset = OpcodeOffset + 1;

    /// <summary>Offset of the command identifier (u16).</summary>
    public const int CommandIdOffset = FlagsOffset + 1;

    /// <summary>Offset of the namespace identifier (u32).</summary>
    public const int NamespaceIdOffset = CommandIdOffset + sizeof(ushort);

    /// <summary>Offset of command dwords 2–3 (reserved, 0).</summary>
    public const int ReservedOffset = NamespaceIdOffset + sizeof(uint);

    /// <summary>Offset of the metadata pointer (u64, not used: 0).</summary>
    public const int MetadataPointerOffset = ReservedOffset + (2 * sizeof(uint));

    /// <summary>Offset of PRP entry 1 (u64).</summary>
    public const int Prp1Offset = MetadataPointerOffset + sizeof(ulong);

    /// <summary>Offset of PRP entry 2 (u64).</summary>
    public const int Prp2Offset = Prp1Offset + sizeof(ulong);

    /// <summary>Offset of the starting LBA (u64: command dwords 10–11).</summary>
    public const int StartLbaOffset = Prp2Offset + sizeof(ulong);

    /// <summary>Offset of the 0-based block count (u16: command dword 12, bits 15:0).</summary>
    public const int NlbOffset = StartLbaOffset + sizeof(ulong);

    /// <summary>Logical blocks the command covers (NLB + 1).</summary>
    public int Blocks => Nlb + 1;

    /// <summary>A read of <paramref name="blocks"/> blocks (1–65536) from <paramref name="startLba"/> in namespace 1.</summary>
    public static SubmissionEntry ReadCommand(ushort commandId, ulong startLba, int blocks, ulong prp1, ulong prp2) =>
        new(NvmeOpcode.Read, commandId, 1, prp1, prp2, startLba, ZeroBased(blocks));

    /// <summary>A write of <paramref name="blocks"/> blocks (1–65536) to <paramref name="startLba"/> in namespace 1.</summary>
    public static SubmissionEntry WriteCommand(ushort commandId, ulong startLba, int blocks, ulong prp1, ulong prp2) =>
        new(NvmeOpcode.Write, commandId, 1, prp1, prp2, startLba, ZeroBased(blocks));

    /// <summary>A flush of namespace 1.</summary>
    public static SubmissionEntry FlushCommand(ushort commandId) => new(NvmeOpcode.Flush, commandId, 1, 0, 0, 0, 0);

    /// <summary>Decodes the first <see cref="Size"/> bytes of <paramref name="bytes"/>.</summary>
    public static SubmissionEntry Read(ReadOnlySpan<byte> bytes) => new(
        (NvmeOpcode)bytes[OpcodeOffset],
        BinaryPrimitives.ReadUInt16LittleEndian(bytes[CommandIdOffset..]),
        BinaryPrimitives.ReadUInt32LittleEndian(bytes[NamespaceIdOffset..]),
        BinaryPrimitives.ReadUInt64LittleEndian(bytes[Prp1Offset..]),
        BinaryPrimitives.ReadUInt64LittleEndian(bytes[Prp2Offset..]),
        BinaryPrimitives.ReadUInt64LittleEndian(bytes[StartLbaOffset..]),
        BinaryPrimitives.ReadUInt16LittleEndian(bytes[NlbOffset..]),
        bytes[FlagsOffset]);

    /// <summary>Encodes into the first <see cref="Size"/> bytes of <paramref name="bytes"/> (reserved fields zero).</summary>
    public void Write(Span<byte> bytes)
    {
        bytes[..Size].Clear();
        bytes[OpcodeOffset] = (byte)Opcode;
        bytes[FlagsOffset] = Flags;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[CommandIdOffset..], CommandId);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[NamespaceIdOffset..], NamespaceId);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[Prp1Offset..], Prp1);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[Prp2Offset..], Prp2);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[StartLbaOffset..], StartLba);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[NlbOffset..], Nlb);
    }

    private static ushort ZeroBased(int blocks)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blocks, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(blocks, ushort.MaxValue + 1);
        return (ushort)(blocks - 1);
    }
}

/// <summary>The NVM command set opcodes the controller implements (§6).</summary>
public enum NvmeOpcode : byte
{
    /// <summary>Flush: commit volatile writes (a no-op on this media).</summary>
    Flush = 0x00,

    /// <summary>Write: host memory to the namespace (the device reads memory by DMA).</summary>
    Write = 0x01,

    /// <summary>Read: the namespace to host memory (the device writes memory by DMA).</summary>
    Read = 0x02,
}
