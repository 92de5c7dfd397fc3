using System.Text;
using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Server.Wire;

namespace PvIommu.Server.Client;

/// <summary>
/// One vCPU of one domain over the wire protocol: hypercalls with the hypercall's semantics,
/// the domain's memory, device DMA, host info and toolstack commands. Implements
/// <see cref="IHypercallChannel"/>, so a driver written against the channel runs over a socket.
/// </summary>
/// <remarks>
/// Not thread-safe: one client is one vCPU (open one per thread). Buffers are reused, so a
/// call allocates nothing but its response payload when one is returned as an array.
/// </remarks>
public sealed class WireClient : IHypercallChannel, IDisposable
{
    private readonly IClientTransport _transport;
    private byte[] _send = new byte[4096];
    private byte[] _receive = new byte[4096];
    private int _buffered;
    private int _consumed;
    private uint _seq;

    private WireClient(IClientTransport transport, ushort domid, ServerCaps caps)
    {
        _transport = transport;
        DomainId = domid;
        Caps = caps;
    }

    /// <summary>The domain this client is a vCPU of.</summary>
    public ushort DomainId { get; }

    /// <summary>What the server offers.</summary>
    public ServerCaps Caps { get; }

    /// <summary>Whether the server has closed the connection.</summary>
    public bool IsClosed { get; private set; }

    /// <summary>Opens a session as <paramref name="domid"/> on <paramref name="transport"/> (which the client then owns).</summary>
    /// <exception cref="WireHelloException">the server refused the opening (the status says why).</exception>
    /// <exception cref="IOException">the transport failed.</exception>
    public static WireClient Connect(IClientTransport transport, ushort domid)
    {
        ArgumentNullException.ThrowIfNull(transport);
        Span<byte> hello = stackalloc byte[WireFormat.HelloSize];
        new HelloRequest(domid, 0, 0).Write(hello);
        var reply = OpenRaw(transport, hello);
        if (reply.Status != 0)
        {
            transport.Dispose();
            throw new WireHelloException(reply.Status);
        }

        return new WireClient(transport, domid, reply.Caps);
    }

    /// <summary>Sends any 16 bytes as the opening and reads the reply (for tests of the opening rules).</summary>
    /// <exception cref="IOException">the server closed without a well-formed reply.</exception>
    public static HelloResponse OpenRaw(IClientTransport transport, ReadOnlySpan<byte> opening)
    {
        ArgumentNullException.ThrowIfNull(transport);
        transport.Send(opening);
        Span<byte> reply = stackalloc byte[WireFormat.HelloSize];
        if (!ReadExactly(transport, reply) || !HelloResponse.TryRead(reply, out var response))
        {
            throw new IOException("the server closed the connection without a well-formed opening reply");
        }

        return response;
    }

    /// <inheritdoc/>
    /// <remarks>A transport failure returns -EIO: the call may or may not have run.</remarks>
    public int IommuOp(uint subOp, Span<byte> argument)
    {
        var response = Exchange(FrameKind.Hypercall, (ushort)subOp, argument, default);
        if (response.Ret is not null && response.Payload.Length == argument.Length)
        {
            response.Payload.CopyTo(argument);
        }

        return response.Ret ?? XenErrno.EIO.ToReturnValue();
    }

    /// <inheritdoc/>
    /// <remarks>
    /// The protocol has no multicall frame: the entries run as separate calls, in order, each
    /// with its own result. Results are what a multicall gives; the IOTLB invalidations are
    /// issued per entry rather than merged.
    /// </remarks>
    public void Multicall(IReadOnlyList<IommuOpCall> calls)
    {
        ArgumentNullException.ThrowIfNull(calls);
        foreach (var call in calls)
        {
            call.Result = IommuOp(call.SubOp, call.Argument);
        }
    }

    /// <summary>Kind 2: writes the domain's memory at <paramref name="gpa"/>.</summary>
    public int WriteMemory(ulong gpa, ReadOnlySpan<byte> data)
    {
        Span<byte> head = stackalloc byte[MemoryRequest.Size];
        new MemoryRequest(gpa, (uint)data.Length, 0).Write(head);
        return Exchange(FrameKind.MemoryWrite, 0, head, data).Ret ?? XenErrno.EIO.ToReturnValue();
    }

    /// <summary>Kind 3: reads the domain's memory at <paramref name="gpa"/> into <paramref name="data"/>.</summary>
    public int ReadMemory(ulong gpa, Span<byte> data)
    {
        Span<byte> head = stackalloc byte[MemoryRequest.Size];
        new MemoryRequest(gpa, (uint)data.Length, 0).Write(head);
        var response = Exchange(FrameKind.MemoryRead, 0, head, default);
        if (response.Ret == 0 && response.Payload.Length == data.Length)
        {
            response.Payload.CopyTo(data);
        }

        return response.Ret ?? XenErrno.EIO.ToReturnValue();
    }

    /// <summary>
    /// Kind 4: <paramref name="device"/> does DMA at bus address <paramref name="address"/>:
    /// writes <paramref name="data"/> to memory when <paramref name="deviceWrites"/>, else reads
    /// memory into it. On a fault the result carries the fault address and reason.
    /// </summary>
    public DmaOutcome Dma(PciDevice device, bool deviceWrites, ulong address, Span<byte> data)
    {
        Span<byte> head = stackalloc byte[DmaRequest.Size];
        new DmaRequest(device.Seg, device.Bus, device.DevFn, deviceWrites ? DmaFlags.DeviceWrites : DmaFlags.None, address, (uint)data.Length, 0).Write(head);
        var response = Exchange(FrameKind.DeviceDma, 0, head, deviceWrites ? data : default);
        if (response.Ret is not { } ret)
        {
            return new DmaOutcome(XenErrno.EIO.ToReturnValue(), null);
        }

        if (ret == XenErrno.EIO.ToReturnValue() && response.Payload.Length == DmaFault.Size)
        {
            return new DmaOutcome(ret, DmaFault.Read(response.Payload));
        }

        if (ret == 0 && !deviceWrites && response.Payload.Length == data.Length)
        {
            response.Payload.CopyTo(data);
        }

        return new DmaOutcome(ret, null);
    }

    /// <summary>Kind 5: the host's description.</summary>
    public (int Ret, string Json) HostInfo()
    {
        var response = Exchange(FrameKind.HostInfo, 0, default, default);
        return (response.Ret ?? XenErrno.EIO.ToReturnValue(), Encoding.UTF8.GetString(response.Payload));
    }

    /// <summary>Kind 6: a toolstack command (hardware domain only).</summary>
    public (int Ret, string Json) Toolstack(string command)
    {
        ArgumentNullException.ThrowIfNull(command);
        var response = Exchange(FrameKind.Toolstack, 0, Encoding.UTF8.GetBytes(command), default);
        return (response.Ret ?? XenErrno.EIO.ToReturnValue(), Encoding.UTF8.GetString(response.Payload));
    }

    /// <summary>Sends one request frame and waits for its response.</summary>
    /// <returns>The response; <see cref="WireResponse.Ret"/> is null when the server closed the connection instead.</returns>
    public WireResponse Exchange(FrameKind kind, ushort code, ReadOnlySpan<byte> payload, ReadOnlySpan<byte> more, uint reserved = 0)
    {
        var length = WireFormat.RequestHeaderSize + payload.Length + more.Length;
        if (_send.Length < length)
        {
            _send = new byte[Math.Max(length, _send.Length * 2)];
        }

        var seq = ++_seq;
        new RequestHeader((uint)(length - WireFormat.LengthSize), seq, (ushort)kind, code, reserved).Write(_send);
        payload.CopyTo(_send.AsSpan(WireFormat.RequestHeaderSize));
        more.CopyTo(_send.AsSpan(WireFormat.RequestHeaderSize + payload.Length));
        var response = SendRaw(_send.AsSpan(0, length));
        return response.Ret is null || response.Seq == seq
            ? response
            : throw new IOException($"response seq {response.Seq} does not answer request {seq}");
    }

    /// <summary>Sends any bytes and reads one response frame (for tests of the framing rules).</summary>
    /// <returns>The response, or one with a null <see cref="WireResponse.Ret"/> when the server closed the connection.</returns>
    public WireResponse SendRaw(ReadOnlySpan<byte> bytes)
    {
        try
        {
            _transport.Send(bytes);
        }
        catch (IOException)
        {
            // The server may have answered and closed before reading everything: read what it sent.
        }

        return ReadResponse();
    }

    /// <summary>Reads the next response frame.</summary>
    public WireResponse ReadResponse()
    {
        DropConsumed();
        if (!Fill(WireFormat.ResponseHeaderSize))
        {
            return Closed();
        }

        var header = ResponseHeader.Read(_receive);
        if (header.Length < WireFormat.ResponseFixedLength || header.Length > WireFormat.MaxFrameLength)
        {
            throw new IOException($"malformed response: length {header.Length}");
        }

        var frame = WireFormat.LengthSize + (int)header.Length;
        if (!Fill(frame))
        {
            return Closed();
        }

        var response = new WireResponse(header.Seq, header.Ret, _receive.AsSpan(WireFormat.ResponseHeaderSize, header.PayloadLength));
        _consumed = frame;
        return response;
    }

    /// <summary>Waits for the server to close the connection; false when it sends more bytes instead.</summary>
    public bool WaitForClose()
    {
        DropConsumed();
        var more = Fill(_buffered + 1);
        IsClosed = !more;
        return IsClosed;
    }

    /// <inheritdoc/>
    public void Dispose() => _transport.Dispose();

    private WireResponse Closed()
    {
        IsClosed = true;
        return new WireResponse(0, null, default);
    }

    /// <summary>Receives until <paramref name="count"/> bytes are buffered; false at end of stream.</summary>
    private bool Fill(int count)
    {
        if (_receive.Length < count)
        {
            Array.Resize(ref _receive, Math.Max(count, _receive.Length * 2));
        }

        while (_buffered < count)
        {
            var n = _transport.Receive(_receive.AsSpan(_buffered));
            if (n == 0)
            {
                return false;
            }

            _buffered += n;
        }

        return true;
    }

    /// <summary>Moves the bytes after the frame read last to the front (its payload span is then invalid).</summary>
    private void DropConsumed()
    {
        if (_consumed == 0)
        {
            return;
        }

        _receive.AsSpan(_consumed, _buffered - _consumed).CopyTo(_receive);
        _buffered -= _consumed;
        _consumed = 0;
    }

    private static bool ReadExactly(IClientTransport transport, Span<byte> buffer)
    {
        for (var done = 0; done < buffer.Length;)
        {
            var n = transport.Receive(buffer[done..]);
            if (n == 0)
            {
                return false;
            }

            done += n;
        }

        return true;
    }
}
