using System.Buffers.Binary;

namespace PvIommu.Server.Wire;

/// <summary>The client's opening: which domain's vCPU this connection is.</summary>
/// <param name="Domid">The domain.</param>
/// <param name="Flags">Must be 0.</param>
/// <param name="Reserved">Must be 0.</param>
public readonly record struct HelloRequest(ushort Domid, ushort Flags, uint Reserved)
{
    private const int DomidOffset = 8;
    private const int FlagsOffset = 10;
    private const int ReservedOffset = 12;

    /// <summary>Whether the fields this version understands are all zero.</summary>
    public bool IsWellFormed => Flags == 0 && Reserved == 0;

    /// <summary>Decodes an opening; false when <paramref name="source"/> is short or the magic is wrong.</summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out HelloRequest hello)
    {
        hello = default;
        if (source.Length < WireFormat.HelloSize || !source[..WireFormat.Magic.Length].SequenceEqual(WireFormat.Magic))
        {
            return false;
        }

        hello = new HelloRequest(
            BinaryPrimitives.ReadUInt16LittleEndian(source[DomidOffset..]),
            BinaryPrimitives.ReadUInt16LittleEndian(source[FlagsOffset..]),
            BinaryPrimitives.ReadUInt32LittleEndian(source[ReservedOffset..]));
        return true;
    }

    /// <summary>Encodes the opening into the first 16 bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        WireFormat.Magic.CopyTo(destination);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[DomidOffset..], Domid);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[FlagsOffset..], Flags);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[ReservedOffset..], Reserved);
    }
}

/// <summary>The server's opening reply.</summary>
/// <param name="Status">0, or -ENOENT (no such domain), -EINVAL (bad opening), -EBUSY (too many sessions).</param>
/// <param name="Caps">What the server offers.</param>
public readonly record struct HelloResponse(int Status, ServerCaps Caps)
{
    private const int StatusOffset = 8;
    private const int CapsOffset = 12;

    /// <summary>Decodes a reply; false when <paramref name="source"/> is short or the magic is wrong.</summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out HelloResponse hello)
    {
        hello = default;
        if (source.Length < WireFormat.HelloSize || !source[..WireFormat.Magic.Length].SequenceEqual(WireFormat.Magic))
        {
            return false;
        }

        hello = new HelloResponse(
            BinaryPrimitives.ReadInt32LittleEndian(source[StatusOffset..]),
            (ServerCaps)BinaryPrimitives.ReadUInt32LittleEndian(source[CapsOffset..]));
        return true;
    }

    /// <summary>Encodes the reply into the first 16 bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        WireFormat.Magic.CopyTo(destination);
        BinaryPrimitives.WriteInt32LittleEndian(destination[StatusOffset..], Status);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[CapsOffset..], (uint)Caps);
    }
}
