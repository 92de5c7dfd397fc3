using System.Buffers.Binary;

namespace PvIommu.Server.Wire;

/// <summary>A request frame's header (the 16 bytes before its payload).</summary>
/// <param name="Length">Bytes after the length field: 12 + payload.</param>
/// <param name="Seq">Echoed in the response.</param>
/// <param name="Kind">What is asked (<see cref="FrameKind"/>; unknown values are possible).</param>
/// <param name="Code">The sub-op for a hypercall, else 0.</param>
/// <param name="Reserved">Must be 0.</param>
public readonly record struct RequestHeader(uint Length, uint Seq, ushort Kind, ushort Code, uint Reserved)
{
    private const int SeqOffset = 4;
    private const int KindOffset = 8;
    private const int CodeOffset = 10;
    private const int ReservedOffset = 12;

    /// <summary>Bytes of payload the frame carries (valid once <see cref="Check"/> passed).</summary>
    public int PayloadLength => (int)Length - WireFormat.RequestFixedLength;

    /// <summary>Decodes the 16 header bytes at the start of <paramref name="source"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="source"/> is shorter than a header.</exception>
    public static RequestHeader Read(ReadOnlySpan<byte> source)
    {
        if (source.Length < WireFormat.RequestHeaderSize)
        {
            throw new ArgumentException($"a request header is {WireFormat.RequestHeaderSize} bytes, {source.Length} given", nameof(source));
        }

        return new RequestHeader(
            BinaryPrimitives.ReadUInt32LittleEndian(source),
            BinaryPrimitives.ReadUInt32LittleEndian(source[SeqOffset..]),
            BinaryPrimitives.ReadUInt16LittleEndian(source[KindOffset..]),
            BinaryPrimitives.ReadUInt16LittleEndian(source[CodeOffset..]),
            BinaryPrimitives.ReadUInt32LittleEndian(source[ReservedOffset..]));
    }

    /// <summary>Encodes the header into the first 16 bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, Length);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[SeqOffset..], Seq);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[KindOffset..], Kind);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[CodeOffset..], Code);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[ReservedOffset..], Reserved);
    }

    /// <summary>A header for a payload of <paramref name="payloadLength"/> bytes.</summary>
    public static RequestHeader For(uint seq, FrameKind kind, ushort code, int payloadLength) =>
        new((uint)(WireFormat.RequestFixedLength + payloadLength), seq, (ushort)kind, code, 0);

    /// <summary>What is wrong with the framing itself (the error rules of the protocol).</summary>
    public FrameError Check() => Length switch
    {
        < WireFormat.RequestFixedLength => FrameError.TooShort,
        > WireFormat.MaxFrameLength => FrameError.TooLong,
        _ => Reserved != 0 ? FrameError.ReservedNotZero : FrameError.None,
    };
}

/// <summary>A framing error: the server answers -EINVAL with the seq as read, then closes the connection.</summary>
public enum FrameError
{
    /// <summary>The frame is well formed.</summary>
    None,

    /// <summary><c>length</c> is below the fixed part of a request (12).</summary>
    TooShort,

    /// <summary><c>length</c> is above 16 MiB.</summary>
    TooLong,

    /// <summary>The header's reserved field is not zero.</summary>
    ReservedNotZero,
}

/// <summary>A response frame's header (the 12 bytes before its payload).</summary>
/// <param name="Length">Bytes after the length field: 8 + payload.</param>
/// <param name="Seq">The request's seq.</param>
/// <param name="Ret">0 or -errno.</param>
public readonly record struct ResponseHeader(uint Length, uint Seq, int Ret)
{
    private const int SeqOffset = 4;
    private const int RetOffset = 8;

    /// <summary>Bytes of payload the frame carries.</summary>
    public int PayloadLength => (int)Length - WireFormat.ResponseFixedLength;

    /// <summary>Decodes the 12 header bytes at the start of <paramref name="source"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="source"/> is shorter than a header.</exception>
    public static ResponseHeader Read(ReadOnlySpan<byte> source)
    {
        if (source.Length < WireFormat.ResponseHeaderSize)
        {
            throw new ArgumentException($"a response header is {WireFormat.ResponseHeaderSize} bytes, {source.Length} given", nameof(source));
        }

        return new ResponseHeader(
            BinaryPrimitives.ReadUInt32LittleEndian(source),
            BinaryPrimitives.ReadUInt32LittleEndian(source[SeqOffset..]),
            BinaryPrimitives.ReadInt32LittleEndian(source[RetOffset..]));
    }

    /// <summary>Encodes the header into the first 12 bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, Length);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[SeqOffset..], Seq);
        BinaryPrimitives.WriteInt32LittleEndian(destination[RetOffset..], Ret);
    }

    /// <summary>A header for a payload of <paramref name="payloadLength"/> bytes.</summary>
    public static ResponseHeader For(uint seq, int ret, int payloadLength) =>
        new((uint)(WireFormat.ResponseFixedLength + payloadLength), seq, ret);
}
