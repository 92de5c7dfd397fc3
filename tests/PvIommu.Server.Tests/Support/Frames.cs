using PvIommu.Abi.Structs;
using PvIommu.Platform.Pci;
using PvIommu.Server.Wire;

namespace PvIommu.Server.Tests.Support;

/// <summary>Raw frames for tests of the framing rules.</summary>
internal static class Frames
{
    public static byte[] Request(uint seq, FrameKind kind, ushort code, ReadOnlySpan<byte> payload, uint reserved = 0)
    {
        var bytes = new byte[WireFormat.RequestHeaderSize + payload.Length];
        new RequestHeader((uint)(WireFormat.RequestFixedLength + payload.Length), seq, (ushort)kind, code, reserved).Write(bytes);
        payload.CopyTo(bytes.AsSpan(WireFormat.RequestHeaderSize));
        return bytes;
    }

    public static byte[] Hello(ushort domid, ushort flags = 0, uint reserved = 0)
    {
        var bytes = new byte[WireFormat.HelloSize];
        new HelloRequest(domid, flags, reserved).Write(bytes);
        return bytes;
    }

    public static PciDevice Pci(Sbdf sbdf) => new() { Seg = sbdf.Segment, Bus = sbdf.Bus, DevFn = sbdf.DevFn };
}
