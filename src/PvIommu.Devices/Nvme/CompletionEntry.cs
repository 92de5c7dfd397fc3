using System.Buffers.Binary;

namespace PvIommu.Devices.Nvme;

/// <summary>
/// A completion queue entry: 16 bytes, little-endian (NVM Express Base Specification 1.4,
/// §4.6 "Completion Queue Entry").
/// </summary>
/// <remarks>
/// <code>
///  byte  0 ...... 3   4 ...... 7   8 ..... 9   10 .... 11   12 .... 13   14 ........ 15
///       [   DW0     ][ reserved  ][   SQHD   ][   SQID    ][   CID     ][ status | P  ]
///  bits of bytes 14..15:  15 DNR  14 M  13:12 CRD  11:9 SCT  8:1 SC  0 P (phase tag)
/// </code>
/// The phase tag tells new entries from old ones without a head register: the controller
/// writes P = 1 on its first pass through the queue and inverts it each time it wraps, so
/// the driver consumes entries while P equals the phase it expects, and flips its expectation
/// when its head wraps. SQHD tells the driver how far the controller has fetched the
/// submission queue, so it knows which submission slots are free again.
/// </remarks>
/// <param name="Result">DW0, command specific (0 for I/O commands).</param>
/// <param name="SqHead">SQHD: the submission queue head after this command was fetched.</param>
/// <param name="SqId">SQID: the submission queue the command came from.</param>
/// <param name="CommandId">CID of the command.</param>
/// <param name="Status">SCT and SC.</param>
/// <param name="Phase">The phase tag P.</param>
public readonly record struct CompletionEntry(uint Result, ushort SqHead, ushort SqId, ushort CommandId, NvmeStatus Status, bool Phase)
{
    /// <summary>Bytes in one entry.</summary>
    public const int Size = 16;

    /// <summary>Offset of DW0 (u32).</summary>
    public const int ResultOffset = 0;

    /// <summary>Offset of DW1 (reserved).</summary>
    public const int ReservedOffset = ResultOffset + sizeof(uint);

    /// <summary>Offset of the submission queue head pointer (u16).</summary>
    public const int SqHeadOffset = ReservedOffset + sizeof(uint);

    /// <summary>Offset of the submission queue identifier (u16).</summary>
    public const int SqIdOffset = SqHeadOffset + sizeof(ushort);

    /// <summary>Offset of the command identifier (u16).</summary>
    public const int CommandIdOffset = SqIdOffset + sizeof(ushort);

    /// <summary>Offset of the status field and phase tag (u16).</summary>
    public const int StatusOffset = CommandIdOffset + sizeof(ushort);

    /// <summary>Whether the command succeeded.</summary>
    public bool IsSuccess => Status == NvmeStatus.Success;

    /// <summary>Decodes the first <see cref="Size"/> bytes of <paramref name="bytes"/>.</summary>
    public static CompletionEntry Read(ReadOnlySpan<byte> bytes)
    {
        var status = BinaryPrimitives.ReadUInt16LittleEndian(bytes[StatusOffset..]);
        return new(
            BinaryPrimitives.ReadUInt32LittleEndian(bytes[ResultOffset..]),
            BinaryPrimitives.ReadUInt16LittleEndian(bytes[SqHeadOffset..]),
            BinaryPrimitives.ReadUInt16LittleEndian(bytes[SqIdOffset..]),
            BinaryPrimitives.ReadUInt16LittleEndian(bytes[CommandIdOffset..]),
            (NvmeStatus)((status >> 1) & 0x7FF),
            (status & 1) != 0);
    }

    /// <summary>The phase tag alone, from the entry's bytes (what a driver polls).</summary>
    public static bool PhaseOf(ReadOnlySpan<byte> bytes) => (bytes[StatusOffset] & 1) != 0;

    /// <summary>Encodes into the first <see cref="Size"/> bytes of <paramref name="bytes"/>.</summary>
    public void Write(Span<byte> bytes)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[ResultOffset..], Result);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[ReservedOffset..], 0);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[SqHeadOffset..], SqHead);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[SqIdOffset..], SqId);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[CommandIdOffset..], CommandId);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[StatusOffset..], (ushort)(((ushort)Status << 1) | (Phase ? 1 : 0)));
    }
}

/// <summary>
/// A completion status: status code type (SCT, bits 10:8 here) and status code (SC, bits 7:0),
/// as in §4.6.1.2. Only the codes the controller produces are named.
/// </summary>
public enum NvmeStatus : ushort
{
    /// <summary>Generic 00h: successful completion.</summary>
    Success = 0x000,

    /// <summary>Generic 01h: invalid command opcode.</summary>
    InvalidOpcode = 0x001,

    /// <summary>Generic 02h: invalid field in command (flags set, a transfer above MDTS, a bad PRP list).</summary>
    InvalidField = 0x002,

    /// <summary>Generic 04h: data transfer error (here: the IOMMU refused a data or PRP list access).</summary>
    DataTransferError = 0x004,

    /// <summary>Generic 0Bh: invalid namespace or format.</summary>
    InvalidNamespace = 0x00B,

    /// <summary>Generic 13h: PRP offset invalid.</summary>
    PrpOffsetInvalid = 0x013,

    /// <summary>Generic 80h (NVM command set): LBA out of range.</summary>
    LbaOutOfRange = 0x080,
}
