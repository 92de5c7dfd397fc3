using System.Net.Sockets;
using PvIommu.Hypervisor;
using PvIommu.Server.Sessions;

namespace PvIommu.Server.Client;

/// <summary>A byte stream to a wire-protocol server (a socket, or a server in this process).</summary>
public interface IClientTransport : IDisposable
{
    /// <summary>Sends every byte; throws <see cref="IOException"/> when the server is gone.</summary>
    void Send(ReadOnlySpan<byte> bytes);

    /// <summary>Receives at least one byte, or returns 0 when the server has closed the connection.</summary>
    int Receive(Span<byte> buffer);
}

/// <summary>
/// A connection over a Unix socket or loopback TCP. A receive polls the socket for the
/// response for a while before it blocks (<see cref="ServerLimits.DefaultBusyPoll"/> unless
/// told otherwise): a call answered within that time skips the kernel's wake-up.
/// </summary>
public sealed class SocketClientTransport : IClientTransport
{
    private readonly Socket _socket;
    private readonly BusyPoll _busyPoll;

    private SocketClientTransport(Socket socket, BusyPoll busyPoll)
    {
        _socket = socket;
        _busyPoll = busyPoll;
    }

    /// <summary>Connects to <paramref name="endpoint"/>.</summary>
    /// <param name="endpoint">Where the server listens.</param>
    /// <param name="busyPoll">How long a receive polls before it blocks (default <see cref="ServerLimits.DefaultBusyPoll"/>; zero: block at once).</param>
    /// <exception cref="IOException">nobody listens there.</exception>
    public static SocketClientTransport Connect(ServerEndpoint endpoint, TimeSpan? busyPoll = null)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var poll = new BusyPoll(busyPoll ?? ServerLimits.DefaultBusyPoll, nameof(busyPoll));
        var socket = new Socket(endpoint.Family, SocketType.Stream, endpoint.Protocol);
        try
        {
            socket.Connect(endpoint.SocketEndPoint);
            if (endpoint is ServerEndpoint.TcpLoopback)
            {
                socket.NoDelay = true;
            }

            return new SocketClientTransport(socket, poll);
        }
        catch (SocketException e)
        {
            socket.Dispose();

            // A missing socket file reads as "Cannot assign requested address" on Linux: say what it is.
            var why = endpoint is ServerEndpoint.UnixSocket unix && !File.Exists(unix.Path) ? "no such socket file" : e.Message;
            throw new IOException($"cannot connect to {endpoint}: {why}", e);
        }
    }

    /// <inheritdoc/>
    public void Send(ReadOnlySpan<byte> bytes)
    {
        try
        {
            while (!bytes.IsEmpty)
            {
                bytes = bytes[_socket.Send(bytes)..];
            }
        }
        catch (SocketException e)
        {
            throw new IOException($"send failed: {e.Message}", e);
        }
    }

    /// <inheritdoc/>
    public int Receive(Span<byte> buffer)
    {
        try
        {
            _busyPoll.Wait(_socket);
            return _socket.Receive(buffer);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
        {
            return 0;
        }
        catch (SocketException e)
        {
            throw new IOException($"receive failed: {e.Message}", e);
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _socket.Dispose();
}

/// <summary>
/// A connection to a server in this process without a socket: each send runs the server's
/// connection on the bytes at once, and the responses wait in a queue for
/// <see cref="Receive"/>. The same code as a socket connection parses and runs the frames.
/// </summary>
public sealed class InProcessClientTransport : IClientTransport
{
    private readonly WireConnection _connection;
    private readonly Queue _responses = new();

    internal InProcessClientTransport(WireService service) => _connection = service.Open(_responses);

    /// <summary>Whether the server side has closed the connection.</summary>
    public bool IsClosed => !_connection.IsOpen;

    /// <inheritdoc/>
    public void Send(ReadOnlySpan<byte> bytes)
    {
        if (!_connection.IsOpen)
        {
            throw new IOException("the server closed the connection");
        }

        _connection.Receive(bytes);
    }

    /// <inheritdoc/>
    public int Receive(Span<byte> buffer)
    {
        if (_responses.Count == 0)
        {
            return _connection.IsOpen
                ? throw new InvalidOperationException("no response is pending: the request is incomplete")
                : 0;
        }

        return _responses.Take(buffer);
    }

    /// <inheritdoc/>
    public void Dispose() => _connection.Dispose();

    /// <summary>The bytes the server sent and the client has not read yet.</summary>
    private sealed class Queue : IFrameSink
    {
        private byte[] _bytes = new byte[4096];
        private int _start;
        private int _end;

        public int Count => _end - _start;

        public void Send(ReadOnlySpan<byte> bytes)
        {
            if (_bytes.Length - _end < bytes.Length)
            {
                var grown = new byte[Math.Max(_bytes.Length, Count + bytes.Length)];
                _bytes.AsSpan(_start, Count).CopyTo(grown);
                (_bytes, _end, _start) = (grown, Count, 0);
            }

            bytes.CopyTo(_bytes.AsSpan(_end));
            _end += bytes.Length;
        }

        public int Take(Span<byte> buffer)
        {
            var n = Math.Min(buffer.Length, Count);
            _bytes.AsSpan(_start, n).CopyTo(buffer);
            _start += n;
            if (_start == _end)
            {
                _start = _end = 0;
            }

            return n;
        }
    }
}

/// <summary>A server in this process that clients reach without sockets (the conformance suite's default target).</summary>
public sealed class InProcessServer : IDisposable
{
    private readonly WireService _service;

    /// <summary>Serves <paramref name="host"/> in this process.</summary>
    public InProcessServer(Host host, int maxSessions = ServerLimits.DefaultMaxSessions) => _service = new WireService(host, maxSessions);

    /// <summary>The host served.</summary>
    public Host Host => _service.Host;

    /// <summary>A new connection (send the opening next).</summary>
    public InProcessClientTransport Connect() => new(_service);

    /// <inheritdoc/>
    public void Dispose() => _service.Dispose();
}
