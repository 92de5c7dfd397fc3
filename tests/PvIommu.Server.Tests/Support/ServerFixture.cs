using PvIommu.Abi;
using PvIommu.Hypervisor;
using PvIommu.Server.Client;

namespace PvIommu.Server.Tests.Support;

/// <summary>
/// A default host served on a Unix socket in a fresh temporary folder; disposing stops the
/// server, checks the socket file is gone and the host's books balance.
/// </summary>
internal sealed class SocketServer : IAsyncDisposable
{
    private readonly string _folder;

    private SocketServer(string folder, PvIommuServer server)
    {
        _folder = folder;
        Server = server;
    }

    public PvIommuServer Server { get; }

    public Host Host => Server.Host;

    public ServerEndpoint Endpoint => Server.Endpoint;

    public string SocketPath => ((ServerEndpoint.UnixSocket)Server.Endpoint).Path;

    public static SocketServer Start(TextWriter? trace = null, int maxSessions = ServerLimits.DefaultMaxSessions, Host? host = null, TimeSpan? busyPoll = null)
    {
        // Short paths: a Unix socket path has at most 107 bytes.
        var folder = Path.Combine(Path.GetTempPath(), "pvi-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(folder);
        var server = new PvIommuServer(host ?? Hosts.Small(), new ServerOptions
        {
            Endpoint = new ServerEndpoint.UnixSocket(Path.Combine(folder, "s")),
            Trace = trace,
            MaxSessions = maxSessions,
            BusyPoll = busyPoll ?? ServerLimits.DefaultBusyPoll,
        });
        server.Start();
        return new SocketServer(folder, server);
    }

    public SocketClientTransport Transport() => SocketClientTransport.Connect(Endpoint);

    public WireClient Connect(ushort domid) => WireClient.Connect(Transport(), domid);

    /// <summary>Stops the server; the caller then checks the books.</summary>
    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        Assert.False(File.Exists(SocketPath), "the socket file outlives the server");
        Directory.Delete(_folder, recursive: true);
    }

    public void AssertNoLeaks() => Assert.Empty(Host.Audit());

    public static int Err(XenErrno errno) => errno.ToReturnValue();
}
