using System.Buffers.Binary;

namespace PvIommu.Devices.Network;

/// <summary>
/// A receive descriptor: the legacy format of the Intel 8254x family (e1000, SDM §3.2.3),
/// 16 bytes, little-endian, in a ring in host memory that the device reads and writes by DMA.
/// </summary>
/// <remarks>
/// <code>
///  byte  0 ............... 7  8 ..... 9  10 .... 11  12 ..... 12  13 ..... 13  14 .... 15
///       [ buffer address     ][ length  ][ checksum ][  status   ][  errors   ][ special  ]
///        driver writes           device fills bytes 8..15 and writes back the whole descriptor
///  status: bit 0 DD (descriptor done), bit 1 EOP (end of packet)
///  errors: bit 7 RXE (here: the device could not write the packet's data)
/// </code>
/// The driver writes the buffer's bus address (an IOVA) and zeroes the rest; the device fills
/// the buffer, then writes back the descriptor (the address as it fetched it) with length,
/// status DD|EOP and errors. Checksum and special are not modelled and read back as zero.
/// </remarks>
/// <param name="Buffer">Bus address of the receive buffer.</param>
/// <param name="Length">Bytes the device put in the buffer.</param>
/// <param name="Status">DD and EOP.</param>
/// <param name="Errors">RXE.</param>
public readonly record struct RxDescriptor(ulong Buffer, ushort Length, RxStatus Status, RxErrors Errors)
{
    /// <summary>Bytes in one descriptor.</summary>
    public const int Size = 16;

    /// <summary>Offset of the buffer address (u64).</summary>
    public const int BufferOffset = 0;

    /// <summary>Offset of the length (u16).</summary>
    public const int LengthOffset = BufferOffset + sizeof(ulong);

    /// <summary>Offset of the packet checksum (u16, not modelled: 0).</summary>
    public const int ChecksumOffset = LengthOffset + sizeof(ushort);

    /// <summary>Offset of the status byte.</summary>
    public const int StatusOffset = ChecksumOffset + sizeof(ushort);

    /// <summary>Offset of the errors byte.</summary>
    public const int ErrorsOffset = StatusOffset + 1;

    /// <summary>Offset of the special field (u16, VLAN tag: not modelled, 0).</summary>
    public const int SpecialOffset = ErrorsOffset + 1;

    /// <summary>Where the device's write-back starts: it rewrites everything after the buffer address.</summary>
    public const int WriteBackOffset = LengthOffset;

    /// <summary>A descriptor the driver posts: the buffer address, everything else zero.</summary>
    public static RxDescriptor Posted(ulong buffer) => new(buffer, 0, RxStatus.None, RxErrors.None);

    /// <summary>Whether the device has finished with this descriptor.</summary>
    public bool IsDone => (Status & RxStatus.DescriptorDone) != 0;

    /// <summary>Decodes the first <see cref="Size"/> bytes of <paramref name="bytes"/>.</summary>
    public static RxDescriptor Read(ReadOnlySpan<byte> bytes) => new(
        BinaryPrimitives.ReadUInt64LittleEndian(bytes[BufferOffset..]),
        BinaryPrimitives.ReadUInt16LittleEndian(bytes[LengthOffset..]),
        (RxStatus)bytes[StatusOffset],
        (RxErrors)bytes[ErrorsOffset]);

    /// <summary>Encodes into the first <see cref="Size"/> bytes of <paramref name="bytes"/>.</summary>
    public void Write(Span<byte> bytes) => Encode(bytes, Buffer, Length, Status, Errors);

    /// <summary>Encodes the write-back half (bytes 8..15) into <paramref name="bytes"/>.</summary>
    public void WriteBack(Span<byte> bytes) => BinaryPrimitives.WriteUInt64LittleEndian(bytes, WriteBackWord(Length, Status, Errors));

    /// <summary>
    /// Encodes a descriptor from its fields into the first <see cref="Size"/> bytes of
    /// <paramref name="bytes"/>: two 64-bit stores (a device model writes one per frame, and
    /// narrow stores that a wider load then reads stall the CPU's store forwarding).
    /// </summary>
    public static void Encode(Span<byte> bytes, ulong buffer, ushort length, RxStatus status, RxErrors errors)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[BufferOffset..], buffer);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[WriteBackOffset..], WriteBackWord(length, status, errors));
    }

    /// <summary>Bytes 8..15 as one little-endian word: length, checksum 0, status, errors, special 0.</summary>
    private static ulong WriteBackWord(ushort length, RxStatus status, RxErrors errors) =>
        length
        | ((ulong)status << (8 * (StatusOffset - WriteBackOffset)))
        | ((ulong)errors << (8 * (ErrorsOffset - WriteBackOffset)));
}

/// <summary>Receive descriptor status bits.</summary>
[Flags]
public enum RxStatus : byte
{
    /// <summary>Not yet written back.</summary>
    None = 0,

    /// <summary>DD: the device is done with the descriptor.</summary>
    DescriptorDone = 0x01,

    /// <summary>EOP: the last descriptor of a packet (every packet here fits one buffer).</summary>
    EndOfPacket = 0x02,
}

/// <summary>Receive descriptor error bits.</summary>
[Flags]
public enum RxErrors : byte
{
    /// <summary>No error.</summary>
    None = 0,

    /// <summary>
    /// RXE: the packet's data did not reach the buffer. Here it means the IOMMU refused the
    /// data write; a real NIC never hears of a refused posted write, the model tells the driver
    /// so that it can recycle the buffer and the ring keeps moving.
    /// </summary>
    RxDataError = 0x80,
}
