using PvIommu.Hypervisor;
using PvIommu.Server.Client;

namespace PvIommu.Server.Conformance;

/// <summary>What the conformance suite runs against: anything that opens wire-protocol connections.</summary>
public interface IConformanceTarget
{
    /// <summary>Where it is, for the report.</summary>
    string Name { get; }

    /// <summary>A new connection, before its opening.</summary>
    /// <exception cref="IOException">the target cannot be reached.</exception>
    IClientTransport Open();
}

/// <summary>A server on a Unix socket or loopback TCP (this project's, or another implementation).</summary>
/// <param name="endpoint">Where it listens.</param>
public sealed class SocketTarget(ServerEndpoint endpoint) : IConformanceTarget
{
    /// <inheritdoc/>
    public string Name => endpoint.ToString()!;

    /// <inheritdoc/>
    public IClientTransport Open() => SocketClientTransport.Connect(endpoint);
}

/// <summary>This project's server in this process, reached without sockets.</summary>
public sealed class InProcessTarget : IConformanceTarget, IDisposable
{
    private readonly InProcessServer _server;

    /// <summary>Serves <paramref name="host"/> (normally a fresh default host).</summary>
    public InProcessTarget(Host host) => _server = new InProcessServer(host);

    /// <summary>The host served.</summary>
    public Host Host => _server.Host;

    /// <inheritdoc/>
    public string Name => "in-process";

    /// <inheritdoc/>
    public IClientTransport Open() => _server.Connect();

    /// <inheritdoc/>
    public void Dispose() => _server.Dispose();
}
