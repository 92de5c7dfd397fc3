using System.Buffers.Binary;
using System.Diagnostics;
using PvIommu.Abi;
using PvIommu.Server.Wire;

namespace PvIommu.Server.Sessions;

/// <summary>
/// One connection, as a push parser: the transport puts received bytes into
/// <see cref="ReceiveSpace"/> and calls <see cref="Received"/>; every complete frame is run at
/// once, in order, and its response sent to the sink before the next is read. It owns the
/// protocol's error rules: a bad opening is answered and closes; a frame that is too short, too
/// long or has a non-zero reserved field is answered -EINVAL (seq as read) and closes.
/// </summary>
/// <remarks>
/// Transport-free, so the fuzz test and the in-process client drive exactly what a socket does.
/// Calls run to completion inside <see cref="Received"/>: a client that goes away mid-call
/// leaves no half-done call, only a response nobody reads.
/// </remarks>
internal sealed class WireConnection : IDisposable
{
    private readonly WireService _service;
    private readonly IFrameSink _sink;
    private readonly FrameBuffer _in = new();
    private readonly FrameBuffer _out = new();
    private int _start;
    private int _end;
    private Session? _session;

    internal WireConnection(WireService service, IFrameSink sink, int id)
    {
        _service = service;
        _sink = sink;
        Id = id;
    }

    /// <summary>The connection's number (for the trace).</summary>
    public int Id { get; }

    /// <summary>Whether the connection still takes bytes (false after an error or a refused opening).</summary>
    public bool IsOpen { get; private set; } = true;

    /// <summary>The session, once the opening was accepted.</summary>
    public Session? Session => _session;

    /// <summary>Where the transport puts the next bytes it receives: never empty, and room for the whole frame being read.</summary>
    public Span<byte> ReceiveSpace()
    {
        var buffered = _end - _start;
        var need = Math.Max(BytesNeeded(), buffered + 1);
        if (_in.Array.Length - _start < need || _end == _in.Array.Length)
        {
            Compact();
            _in.Ensure(need, _end);
        }

        return _in.Array.AsSpan(_end);
    }

    /// <summary>Takes <paramref name="count"/> bytes written into <see cref="ReceiveSpace"/> and runs every complete frame.</summary>
    /// <returns>False when the connection must be closed now.</returns>
    public bool Received(int count)
    {
        if (!IsOpen)
        {
            return false;
        }

        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _in.Array.Length - _end);
        _end += count;
        IsOpen = Pump();
        return IsOpen;
    }

    /// <summary>Copies <paramref name="data"/> in and runs every complete frame.</summary>
    /// <returns>False when the connection must be closed now.</returns>
    public bool Receive(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty && IsOpen)
        {
            var space = ReceiveSpace();
            var n = Math.Min(space.Length, data.Length);
            data[..n].CopyTo(space);
            data = data[n..];
            Received(n);
        }

        return IsOpen;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_session is not null)
        {
            _service.ReleaseSession();
            _session = null;
        }

        IsOpen = false;
        _in.Dispose();
        _out.Dispose();
    }

    /// <summary>Bytes from <see cref="_start"/> that complete what is being read now.</summary>
    private int BytesNeeded()
    {
        if (_session is null)
        {
            return WireFormat.HelloSize;
        }

        if (_end - _start < WireFormat.LengthSize)
        {
            return WireFormat.LengthSize;
        }

        var length = BinaryPrimitives.ReadUInt32LittleEndian(_in.Array.AsSpan(_start));
        return length is < WireFormat.RequestFixedLength or > WireFormat.MaxFrameLength
            ? WireFormat.LengthSize + sizeof(uint)
            : WireFormat.LengthSize + (int)length;
    }

    private void Compact()
    {
        var buffered = _end - _start;
        _in.Array.AsSpan(_start, buffered).CopyTo(_in.Array);
        _start = 0;
        _end = buffered;
    }

    /// <summary>Runs what is complete; false to close.</summary>
    private bool Pump()
    {
        while (true)
        {
            var buffered = _in.Array.AsSpan(_start, _end - _start);
            if (_session is null)
            {
                if (buffered.Length < WireFormat.HelloSize)
                {
                    break;
                }

                _start += WireFormat.HelloSize;
                if (!Hello(buffered[..WireFormat.HelloSize]))
                {
                    return false;
                }

                continue;
            }

            if (buffered.Length < WireFormat.LengthSize)
            {
                break;
            }

            var length = BinaryPrimitives.ReadUInt32LittleEndian(buffered);
            if (length is < WireFormat.RequestFixedLength or > WireFormat.MaxFrameLength)
            {
                // The seq follows the length when the frame claims at least 4 more bytes.
                if (length < sizeof(uint))
                {
                    return Refuse(0, length < WireFormat.RequestFixedLength ? FrameError.TooShort : FrameError.TooLong);
                }

                if (buffered.Length < WireFormat.LengthSize + sizeof(uint))
                {
                    break;
                }

                var seq = BinaryPrimitives.ReadUInt32LittleEndian(buffered[WireFormat.LengthSize..]);
                return Refuse(seq, length < WireFormat.RequestFixedLength ? FrameError.TooShort : FrameError.TooLong);
            }

            if (buffered.Length < WireFormat.RequestHeaderSize)
            {
                break;
            }

            var header = RequestHeader.Read(buffered);
            if (header.Check() != FrameError.None)
            {
                return Refuse(header.Seq, header.Check());
            }

            var frameSize = WireFormat.LengthSize + (int)length;
            if (buffered.Length < frameSize)
            {
                break;
            }

            var payload = buffered[WireFormat.RequestHeaderSize..frameSize];
            var response = _session.Handle(header, payload, _out);
            _start += frameSize;
            _sink.Send(response);
            _out.Shrink();
        }

        if (_start == _end)
        {
            _start = _end = 0;
            _in.Shrink();
        }

        return true;
    }

    private bool Hello(ReadOnlySpan<byte> bytes)
    {
        var start = Stopwatch.GetTimestamp();
        int status;
        ushort domid = 0;
        if (!HelloRequest.TryRead(bytes, out var hello) || !hello.IsWellFormed)
        {
            status = XenErrno.EINVAL.ToReturnValue();
        }
        else if (_service.FindDomain(domid = hello.Domid) is not { } domain)
        {
            status = XenErrno.ENOENT.ToReturnValue();
        }
        else if (!_service.TryTakeSession())
        {
            status = XenErrno.EBUSY.ToReturnValue();
        }
        else
        {
            _session = new Session(_service, domain, Id);
            status = 0;
        }

        Span<byte> reply = stackalloc byte[WireFormat.HelloSize];
        new HelloResponse(status, status == 0 ? ServerCaps.All : ServerCaps.None).Write(reply);
        _service.Trace?.Call(Id, domid, "hello", status, start);
        _sink.Send(reply);
        return status == 0;
    }

    private bool Refuse(uint seq, FrameError error)
    {
        Span<byte> reply = stackalloc byte[WireFormat.ResponseHeaderSize];
        ResponseHeader.For(seq, XenErrno.EINVAL.ToReturnValue(), 0).Write(reply);
        _service.Trace?.Line($"trace c{Id} d{_session!.Domain.Id} frame error {error} seq={seq}: closing");
        _sink.Send(reply);
        return false;
    }
}
