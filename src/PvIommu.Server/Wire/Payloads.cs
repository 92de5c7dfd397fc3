using System.Buffers.Binary;

namespace PvIommu.Server.Wire;

/// <summary>The fixed part of a memory read or write payload (kinds 2 and 3).</summary>
/// <remarks>
/// <code>
/// 0    8    12        16
/// [gpa][len][reserved]      then, for a write, len bytes
/// </code>
/// </remarks>
/// <param name="Gpa">Guest physical address.</param>
/// <param name="Len">Bytes.</param>
/// <param name="Reserved">Must be 0.</param>
public readonly record struct MemoryRequest(ulong Gpa, uint Len, uint Reserved)
{
    /// <summary>Bytes of the fixed part.</summary>
    public const int Size = 16;

    /// <summary>Decodes the fixed part (the caller checked the length).</summary>
    public static MemoryRequest Read(ReadOnlySpan<byte> source) => new(
        BinaryPrimitives.ReadUInt64LittleEndian(source),
        BinaryPrimitives.ReadUInt32LittleEndian(source[8..]),
        BinaryPrimitives.ReadUInt32LittleEndian(source[12..]));

    /// <summary>Encodes the fixed part.</summary>
    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(destination, Gpa);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], Len);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[12..], Reserved);
    }
}

/// <summary><c>flags</c> of a device DMA request.</summary>
[Flags]
public enum DmaFlags : uint
{
    /// <summary>The device reads memory (the response carries the bytes).</summary>
    None = 0,

    /// <summary>Bit 0: the device writes memory (the request carries the bytes).</summary>
    DeviceWrites = 1u << 0,
}

/// <summary>The fixed part of a device DMA payload (kind 4).</summary>
/// <remarks>
/// <code>
/// 0    2    3      4      8     16   20        24
/// [seg][bus][devfn][flags][addr][len][reserved]      then, when writing, len bytes
/// </code>
/// </remarks>
/// <param name="Segment">PCI segment.</param>
/// <param name="Bus">Bus.</param>
/// <param name="DevFn">Device and function.</param>
/// <param name="Flags">Direction.</param>
/// <param name="Address">Bus address (the IOVA the device puts on the bus).</param>
/// <param name="Len">Bytes.</param>
/// <param name="Reserved">Must be 0.</param>
public readonly record struct DmaRequest(ushort Segment, byte Bus, byte DevFn, DmaFlags Flags, ulong Address, uint Len, uint Reserved)
{
    /// <summary>Bytes of the fixed part.</summary>
    public const int Size = 24;

    /// <summary>Whether the device writes memory.</summary>
    public bool DeviceWrites => (Flags & DmaFlags.DeviceWrites) != 0;

    /// <summary>Decodes the fixed part (the caller checked the length).</summary>
    public static DmaRequest Read(ReadOnlySpan<byte> source) => new(
        BinaryPrimitives.ReadUInt16LittleEndian(source),
        source[2],
        source[3],
        (DmaFlags)BinaryPrimitives.ReadUInt32LittleEndian(source[4..]),
        BinaryPrimitives.ReadUInt64LittleEndian(source[8..]),
        BinaryPrimitives.ReadUInt32LittleEndian(source[16..]),
        BinaryPrimitives.ReadUInt32LittleEndian(source[20..]));

    /// <summary>Encodes the fixed part.</summary>
    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(destination, Segment);
        destination[2] = Bus;
        destination[3] = DevFn;
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], (uint)Flags);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], Address);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[16..], Len);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[20..], Reserved);
    }
}

/// <summary>The payload of a DMA that faulted (ret -EIO).</summary>
/// <remarks>
/// <code>
/// 0     8       12        16
/// [addr][reason][reserved]
/// </code>
/// </remarks>
/// <param name="Address">The bus address that faulted.</param>
/// <param name="Reason">1 not mapped, 2 read not permitted, 3 write not permitted, 4 blocked, 5 beyond the table width.</param>
public readonly record struct DmaFault(ulong Address, uint Reason)
{
    /// <summary>Bytes of the payload.</summary>
    public const int Size = 16;

    /// <summary>Decodes the payload (the caller checked the length).</summary>
    public static DmaFault Read(ReadOnlySpan<byte> source) => new(
        BinaryPrimitives.ReadUInt64LittleEndian(source),
        BinaryPrimitives.ReadUInt32LittleEndian(source[8..]));

    /// <summary>Encodes the payload, reserved as zero.</summary>
    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(destination, Address);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], Reason);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[12..], 0);
    }
}
