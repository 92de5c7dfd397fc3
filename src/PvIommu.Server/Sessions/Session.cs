using System.Diagnostics;
using PvIommu.Abi;
using PvIommu.Hypervisor;
using PvIommu.Hypervisor.Domains;
using PvIommu.Server.Wire;

namespace PvIommu.Server.Sessions;

/// <summary>
/// A connection past its opening: one vCPU of <see cref="Domain"/>. Runs one well-framed request
/// and builds its response; the request kinds are in the partial files.
/// </summary>
internal sealed partial class Session
{
    private readonly WireService _service;
    private readonly int _connection;

    public Session(WireService service, Domain domain, int connection)
    {
        _service = service;
        Domain = domain;
        _connection = connection;
    }

    /// <summary>The domain whose vCPU this is.</summary>
    public Domain Domain { get; }

    private Host Host => _service.Host;

    /// <summary>
    /// Runs a request whose framing was checked and returns the whole response frame, built in
    /// <paramref name="output"/>. <paramref name="payload"/> may be overwritten.
    /// </summary>
    public ReadOnlySpan<byte> Handle(in RequestHeader header, Span<byte> payload, FrameBuffer output)
    {
        var start = _service.Trace is null ? 0 : Stopwatch.GetTimestamp();
        var response = new Response(output);
        var ret = (FrameKind)header.Kind switch
        {
            FrameKind.Hypercall => Hypercall(header.Code, payload, ref response),
            _ when header.Code != 0 && IsKnown(header.Kind) => XenErrno.EINVAL.ToReturnValue(),
            FrameKind.MemoryWrite => MemoryWrite(payload),
            FrameKind.MemoryRead => MemoryRead(payload, ref response),
            FrameKind.DeviceDma => DeviceDma(payload, ref response),
            FrameKind.HostInfo => HostInfo(payload, ref response),
            FrameKind.Toolstack => Toolstack(payload, ref response),
            _ => XenErrno.EOPNOTSUPP.ToReturnValue(),
        };

        if (_service.Trace is { } trace)
        {
            trace.Call(_connection, Domain.Id, Describe(header, payload), ret, start, response.Detail);
        }

        return response.Complete(header.Seq, ret);
    }

    private static bool IsKnown(ushort kind) => kind is >= (ushort)FrameKind.Hypercall and <= (ushort)FrameKind.Toolstack;

    private static string Describe(in RequestHeader header, ReadOnlySpan<byte> payload) => (FrameKind)header.Kind switch
    {
        FrameKind.Hypercall => "hypercall " + SubOpName(header.Code)
            + (header.Code == (ushort)SubOp.RemoteCmd && payload.Length >= Abi.Structs.RemoteCmd.Size
                ? $"(d{Abi.Structs.RemoteCmd.Read(payload).Domid} {SubOpName((ushort)Abi.Structs.RemoteCmd.Read(payload).Subop)})"
                : string.Empty),
        FrameKind.MemoryWrite or FrameKind.MemoryRead when payload.Length >= MemoryRequest.Size =>
            $"{((FrameKind)header.Kind == FrameKind.MemoryWrite ? "memory_write" : "memory_read")} 0x{MemoryRequest.Read(payload).Gpa:x}+{MemoryRequest.Read(payload).Len}",
        FrameKind.DeviceDma when payload.Length >= DmaRequest.Size => DescribeDma(DmaRequest.Read(payload)),
        FrameKind.HostInfo => "host_info",
        FrameKind.Toolstack => "toolstack",
        _ => $"kind {header.Kind} code {header.Code}",
    };

    private static string DescribeDma(DmaRequest dma) =>
        $"dma {Platform.Pci.Sbdf.FromDevFn(dma.Segment, dma.Bus, dma.DevFn)} {(dma.DeviceWrites ? "write" : "read")} 0x{dma.Address:x}+{dma.Len}";

    private static string SubOpName(ushort code) =>
        SubOps.IsDefined((SubOp)code) ? Abi.Catalog.AbiCatalog.SnakeCase(((SubOp)code).ToString()) : $"sub-op {code}";

    /// <summary>A response being built: its payload goes after the 12-byte header in the connection's output buffer.</summary>
    private ref struct Response(FrameBuffer output)
    {
        private int _length;

        /// <summary>Extra words for the trace (a DMA fault).</summary>
        public string? Detail { get; set; }

        /// <summary>Room for a payload of <paramref name="length"/> bytes; the payload is that long unless <see cref="Truncate"/> says otherwise.</summary>
        public Span<byte> Payload(int length)
        {
            output.Ensure(WireFormat.ResponseHeaderSize + length);
            _length = length;
            return output.Array.AsSpan(WireFormat.ResponseHeaderSize, length);
        }

        /// <summary>Shortens the payload (or drops it).</summary>
        public void Truncate(int length) => _length = Math.Min(_length, length);

        /// <summary>Writes the header and returns the frame.</summary>
        public readonly ReadOnlySpan<byte> Complete(uint seq, int ret)
        {
            output.Ensure(WireFormat.ResponseHeaderSize);
            ResponseHeader.For(seq, ret, _length).Write(output.Array);
            return output.Array.AsSpan(0, WireFormat.ResponseHeaderSize + _length);
        }
    }
}
