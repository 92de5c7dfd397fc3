using System.Buffers.Binary;

namespace PvIommu.Devices.Network;

/// <summary>
/// A transmit descriptor: the legacy format of the Intel 8254x family (e1000, SDM §3.3.3),
/// 16 bytes, little-endian, in a ring in host memory.
/// </summary>
/// <remarks>
/// <code>
///  byte  0 ............... 7  8 ..... 9  10  11   12   13  14 .... 15
///       [ buffer address     ][ length  ][CSO][CMD][STA][CSS][ special  ]
///  CMD: bit 0 EOP (last fragment of a packet), bit 3 RS (report status: write back DD)
///  STA: bit 0 DD (descriptor done), written back by the device (one byte) when RS is set
/// </code>
/// A packet is one or more descriptors (fragments), the last with EOP. CSO, CSS and special
/// (checksum offload, VLAN) are not modelled and must be zero.
/// </remarks>
/// <param name="Buffer">Bus address of the fragment.</param>
/// <param name="Length">Bytes in the fragment.</param>
/// <param name="Command">EOP and RS.</param>
/// <param name="Status">DD.</param>
public readonly record struct TxDescriptor(ulong Buffer, ushort Length, TxCommand Command, TxStatus Status)
{
    /// <summary>Bytes in one descriptor.</summary>
    public const int Size = 16;

    /// <summary>Offset of the buffer address (u64).</summary>
    public const int BufferOffset = 0;

    /// <summary>Offset of the length (u16).</summary>
    public const int LengthOffset = BufferOffset + sizeof(ulong);

    /// <summary>Offset of the checksum offset byte (CSO, not modelled: 0).</summary>
    public const int ChecksumOffsetOffset = LengthOffset + sizeof(ushort);

    /// <summary>Offset of the command byte.</summary>
    public const int CommandOffset = ChecksumOffsetOffset + 1;

    /// <summary>Offset of the status byte (the device's write-back).</summary>
    public const int StatusOffset = CommandOffset + 1;

    /// <summary>Offset of the checksum start byte (CSS, not modelled: 0).</summary>
    public const int ChecksumStartOffset = StatusOffset + 1;

    /// <summary>Offset of the special field (u16, not modelled: 0).</summary>
    public const int SpecialOffset = ChecksumStartOffset + 1;

    /// <summary>Whether the device has finished with this descriptor (only reported when RS was set).</summary>
    public bool IsDone => (Status & TxStatus.DescriptorDone) != 0;

    /// <summary>Decodes the first <see cref="Size"/> bytes of <paramref name="bytes"/>.</summary>
    public static TxDescriptor Read(ReadOnlySpan<byte> bytes) => new(
        BinaryPrimitives.ReadUInt64LittleEndian(bytes[BufferOffset..]),
        BinaryPrimitives.ReadUInt16LittleEndian(bytes[LengthOffset..]),
        (TxCommand)bytes[CommandOffset],
        (TxStatus)bytes[StatusOffset]);

    /// <summary>Encodes into the first <see cref="Size"/> bytes of <paramref name="bytes"/>.</summary>
    public void Write(Span<byte> bytes)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[BufferOffset..], Buffer);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[LengthOffset..], Length);
        bytes[ChecksumOffsetOffset] = 0;
        bytes[CommandOffset] = (byte)Command;
        bytes[StatusOffset] = (byte)Status;
        bytes[ChecksumStartOffset] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[SpecialOffset..], 0);
    }
}

/// <summary>Transmit descriptor command bits.</summary>
[Flags]
public enum TxCommand : byte
{
    /// <summary>A middle fragment, no status report.</summary>
    None = 0,

    /// <summary>EOP: the last fragment of a packet.</summary>
    EndOfPacket = 0x01,

    /// <summary>RS: write back DD when done with this descriptor.</summary>
    ReportStatus = 0x08,
}

/// <summary>Transmit descriptor status bits.</summary>
[Flags]
public enum TxStatus : byte
{
    /// <summary>Not yet written back.</summary>
    None = 0,

    /// <summary>DD: the device is done with the descriptor (its buffer may be unmapped).</summary>
    DescriptorDone = 0x01,
}
