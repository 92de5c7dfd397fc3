using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace PvIommu.Server;

/// <summary>
/// Where the server listens: a Unix stream socket, or TCP on a loopback address. Never another
/// address: the protocol has no authentication, so anyone who reaches it controls the host.
/// </summary>
public abstract record ServerEndpoint
{
    /// <summary>The Unix socket path <c>pviommu serve</c> uses by default.</summary>
    public const string DefaultSocketPath = "./pviommu.sock";

    private ServerEndpoint()
    {
    }

    /// <summary>The default endpoint: <see cref="DefaultSocketPath"/>.</summary>
    public static ServerEndpoint Default => new UnixSocket(DefaultSocketPath);

    /// <summary>The socket-level endpoint.</summary>
    internal abstract EndPoint SocketEndPoint { get; }

    /// <summary>The address family of <see cref="SocketEndPoint"/>.</summary>
    internal abstract AddressFamily Family { get; }

    /// <summary>The protocol of sockets on this endpoint.</summary>
    internal ProtocolType Protocol => Family == AddressFamily.Unix ? ProtocolType.Unspecified : ProtocolType.Tcp;

    /// <summary>
    /// Parses <c>HOST:PORT</c> for <c>--tcp</c>: HOST is an IPv4 or IPv6 loopback address
    /// (<c>127.0.0.1</c>, <c>[::1]</c>) or <c>localhost</c>; PORT is 0..65535 (0: any free port).
    /// </summary>
    /// <returns>False, with a sentence for the user in <paramref name="error"/>, for a malformed or non-loopback address.</returns>
    public static bool TryParseTcp(string text, out ServerEndpoint? endpoint, out string error)
    {
        endpoint = null;
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || !ushort.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port))
        {
            error = $"'{text}' is not HOST:PORT (for example 127.0.0.1:7043)";
            return false;
        }

        var host = text[..colon].Trim('[', ']');
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            host = "127.0.0.1";
        }

        if (!IPAddress.TryParse(host, out var address))
        {
            error = $"'{text[..colon]}' is not an IP address (use 127.0.0.1, [::1] or localhost)";
            return false;
        }

        if (!IPAddress.IsLoopback(address))
        {
            error = $"refusing to listen on {address}: the wire protocol has no authentication, so the server listens on loopback addresses only (127.0.0.0/8, ::1)";
            return false;
        }

        endpoint = new TcpLoopback(new IPEndPoint(address, port));
        error = string.Empty;
        return true;
    }

    /// <summary>A Unix stream socket at <see cref="Path"/>.</summary>
    /// <param name="Path">The socket file.</param>
    public sealed record UnixSocket(string Path) : ServerEndpoint
    {
        /// <inheritdoc/>
        internal override EndPoint SocketEndPoint => new UnixDomainSocketEndPoint(Path);

        /// <inheritdoc/>
        internal override AddressFamily Family => AddressFamily.Unix;

        /// <inheritdoc/>
        public override string ToString() => "unix:" + Path;
    }

    /// <summary>TCP on a loopback address (build it with <see cref="TryParseTcp"/>).</summary>
    /// <param name="EndPoint">The address and port.</param>
    public sealed record TcpLoopback(IPEndPoint EndPoint) : ServerEndpoint
    {
        /// <inheritdoc/>
        internal override EndPoint SocketEndPoint => EndPoint;

        /// <inheritdoc/>
        internal override AddressFamily Family => EndPoint.AddressFamily;

        /// <inheritdoc/>
        public override string ToString() => "tcp:" + EndPoint;
    }
}
