using System.Net;
using System.Net.Sockets;
using PvIommu.Hypervisor;
using PvIommu.Server.Sessions;

namespace PvIommu.Server;

/// <summary>
/// <c>pviommu serve</c>: the wire protocol on a Unix socket or loopback TCP. Each accepted
/// connection gets its own long-running task that reads frames and runs them in order, so
/// calls from different connections run concurrently, as vCPUs do.
/// </summary>
/// <remarks>
/// Stopping closes the listener and every connection; a call in flight completes first (it is
/// never cut), then its task ends, and the socket file is removed.
/// </remarks>
public sealed class PvIommuServer : IAsyncDisposable
{
    private readonly WireService _service;
    private readonly ServerOptions _options;
    private readonly BusyPoll _busyPoll;
    private readonly Lock _lock = new();
    private readonly HashSet<Socket> _sockets = [];
    private readonly List<Task> _connections = [];
    private Socket? _listener;
    private Task? _acceptor;
    private bool _stopping;
    private bool _ownsSocketFile;

    /// <summary>A server for <paramref name="host"/>; call <see cref="Start"/> or <see cref="RunAsync"/>.</summary>
    public PvIommuServer(Host host, ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(options);
        _busyPoll = new BusyPoll(options.BusyPoll, nameof(options));
        _options = options;
        _service = new WireService(host, options.MaxSessions, options.Trace);
        Endpoint = options.Endpoint;
    }

    /// <summary>The endpoint listened on (for TCP port 0, the port the system chose, once started).</summary>
    public ServerEndpoint Endpoint { get; private set; }

    /// <summary>The simulated host.</summary>
    public Host Host => _service.Host;

    /// <summary>Sessions open now.</summary>
    public int ActiveSessions => _service.ActiveSessions;

    /// <summary>Binds and starts accepting connections.</summary>
    /// <exception cref="ServerStartException">the endpoint is in use or cannot be bound.</exception>
    public void Start()
    {
        lock (_lock)
        {
            if (_listener is not null || _stopping)
            {
                throw new InvalidOperationException("the server was started already");
            }

            _listener = Bind();
            _acceptor = Task.Factory.StartNew(AcceptLoop, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }
    }

    /// <summary>Starts, serves until <paramref name="cancellationToken"/> is cancelled, then stops cleanly.</summary>
    /// <exception cref="ServerStartException">the endpoint is in use or cannot be bound.</exception>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        Start();
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The normal way to stop.
        }

        await StopAsync().ConfigureAwait(false);
    }

    /// <summary>Stops accepting, closes every connection after its call in flight, and removes the socket file.</summary>
    public async Task StopAsync()
    {
        Task[] pending;
        lock (_lock)
        {
            _stopping = true;
            _listener?.Dispose();
            foreach (var socket in _sockets)
            {
                Abort(socket);
            }
        }

        if (_acceptor is { } acceptor)
        {
            await acceptor.ConfigureAwait(false);
        }

        lock (_lock)
        {
            pending = [.. _connections];
        }

        await Task.WhenAll(pending).ConfigureAwait(false);
        if (_ownsSocketFile && Endpoint is ServerEndpoint.UnixSocket unix)
        {
            File.Delete(unix.Path);
            _ownsSocketFile = false;
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _service.Dispose();
    }

    private Socket Bind()
    {
        var endpoint = _options.Endpoint;
        if (endpoint is ServerEndpoint.UnixSocket unix)
        {
            RemoveStaleSocket(unix.Path);
        }

        var listener = new Socket(endpoint.Family, SocketType.Stream, endpoint.Protocol);
        try
        {
            if (endpoint is ServerEndpoint.TcpLoopback)
            {
                listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            }

            listener.Bind(endpoint.SocketEndPoint);
            listener.Listen(128);
        }
        catch (SocketException e)
        {
            listener.Dispose();
            throw new ServerStartException($"cannot listen on {endpoint}: {e.Message}", e);
        }

        _ownsSocketFile = endpoint is ServerEndpoint.UnixSocket;
        if (endpoint is ServerEndpoint.TcpLoopback && listener.LocalEndPoint is IPEndPoint bound)
        {
            Endpoint = new ServerEndpoint.TcpLoopback(bound);
        }

        return listener;
    }

    /// <summary>
    /// A socket file left by a server that died is removed; one that a live server answers on,
    /// or a file that is not an empty socket file, is not touched.
    /// </summary>
    private static void RemoveStaleSocket(string path)
    {
        if (!File.Exists(path))
        {
            return;
        }

        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused && new FileInfo(path).Length == 0)
        {
            File.Delete(path);
            return;
        }
        catch (SocketException e)
        {
            throw new ServerStartException($"{path} exists and is not a stale socket ({e.Message}); remove it or choose another --socket", e);
        }

        throw new ServerStartException($"{path} is in use: another server answers on it");
    }

    private void AcceptLoop()
    {
        while (true)
        {
            Socket socket;
            try
            {
                socket = _listener!.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                if (Volatile.Read(ref _stopping))
                {
                    return;
                }

                _options.Log.WriteLine($"pviommu serve: accept failed: {e.Message}");
                Thread.Sleep(10);
                continue;
            }

            lock (_lock)
            {
                if (_stopping)
                {
                    socket.Dispose();
                    return;
                }

                if (socket.ProtocolType == ProtocolType.Tcp)
                {
                    socket.NoDelay = true;
                }

                _sockets.Add(socket);
                _connections.RemoveAll(t => t.IsCompleted);
                _connections.Add(Task.Factory.StartNew(() => Serve(socket), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default));
            }
        }
    }

    /// <summary>
    /// One connection: reads into the connection's buffer, each after polling for bytes for
    /// <see cref="ServerOptions.BusyPoll"/>, then blocking; frames run as they complete.
    /// </summary>
    private void Serve(Socket socket)
    {
        var connection = _service.Open(new SocketSink(socket));
        var clean = true;
        try
        {
            // A connection that never sends its opening must not hold a thread forever.
            socket.ReceiveTimeout = (int)_options.OpeningTimeout.TotalMilliseconds;
            var opening = true;
            while (true)
            {
                _busyPoll.Wait(socket);
                var received = socket.Receive(connection.ReceiveSpace());
                if (received == 0 || !connection.Received(received))
                {
                    clean = received == 0;
                    break;
                }

                if (opening && connection.Session is not null)
                {
                    socket.ReceiveTimeout = 0;
                    opening = false;
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The client went away (or the server is stopping); any call it made has completed.
        }
        catch (Exception e)
        {
            // A bug of this project: the connection ends, the server and other connections go on.
            _options.Log.WriteLine($"pviommu serve: internal error on connection c{connection.Id}, closing it: {e}");
        }
        finally
        {
            if (!clean && socket.ProtocolType == ProtocolType.Tcp)
            {
                Drain(socket);
            }

            lock (_lock)
            {
                _sockets.Remove(socket);
            }

            Abort(socket);
            socket.Dispose();
            connection.Dispose();
        }
    }

    /// <summary>
    /// After an error response on TCP: stop sending, then read and drop what the client still
    /// sends for a moment, so that closing does not reset the connection before the client has
    /// read the response.
    /// </summary>
    private static void Drain(Socket socket)
    {
        try
        {
            socket.Shutdown(SocketShutdown.Send);
            socket.ReceiveTimeout = 200;
            var sink = new byte[16 * 1024];
            for (var total = 0; total < 1 << 20;)
            {
                var n = socket.Receive(sink);
                if (n == 0)
                {
                    break;
                }

                total += n;
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Timed out or gone: close now.
        }
    }

    /// <summary>Wakes a blocked receive: shutdown ends it with 0 bytes.</summary>
    private static void Abort(Socket socket)
    {
        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Already closed.
        }
    }

    private sealed class SocketSink(Socket socket) : IFrameSink
    {
        public void Send(ReadOnlySpan<byte> bytes)
        {
            while (!bytes.IsEmpty)
            {
                bytes = bytes[socket.Send(bytes)..];
            }
        }
    }
}
