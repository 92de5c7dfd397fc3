using PvIommu.Hypervisor;
using PvIommu.Hypervisor.Domains;

namespace PvIommu.Server.Sessions;

/// <summary>
/// The server side of the wire protocol without a transport: the host, the session limit, the
/// gate that keeps DMA apart from IOMMU programming, and the trace. A socket listener and the
/// in-process client both open <see cref="WireConnection"/>s on it.
/// </summary>
internal sealed class WireService : IDisposable
{
    private int _sessions;
    private int _nextConnection;

    public WireService(Host host, int maxSessions = ServerLimits.DefaultMaxSessions, TextWriter? trace = null)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSessions, 1);
        Host = host;
        MaxSessions = maxSessions;
        Trace = trace is null ? null : new CallTrace(trace);
    }

    /// <summary>The simulated host every connection acts on.</summary>
    public Host Host { get; }

    /// <summary>Sessions (connections past the opening) allowed at once; one more gets -EBUSY.</summary>
    public int MaxSessions { get; }

    /// <summary>Sessions open now.</summary>
    public int ActiveSessions => Volatile.Read(ref _sessions);

    /// <summary>The DMA/IOMMU-programming gate.</summary>
    public HardwareGate Gate { get; } = new();

    /// <summary>The call trace, when tracing.</summary>
    public CallTrace? Trace { get; }

    /// <summary>A new connection awaiting its opening; responses go to <paramref name="sink"/>.</summary>
    public WireConnection Open(IFrameSink sink) => new(this, sink, Interlocked.Increment(ref _nextConnection));

    /// <summary>The domain a connection may act as: live, and not dom_io.</summary>
    public Domain? FindDomain(ushort domid) => Host.FindDomain(domid);

    /// <summary>Takes a session slot, unless all are taken.</summary>
    public bool TryTakeSession()
    {
        while (true)
        {
            var now = Volatile.Read(ref _sessions);
            if (now >= MaxSessions)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _sessions, now + 1, now) == now)
            {
                return true;
            }
        }
    }

    /// <summary>Gives a session slot back.</summary>
    public void ReleaseSession() => Interlocked.Decrement(ref _sessions);

    /// <inheritdoc/>
    public void Dispose() => Gate.Dispose();
}

/// <summary>Where a connection's responses go (a socket, or the in-process client's queue).</summary>
internal interface IFrameSink
{
    /// <summary>Sends bytes to the client; throws when the client is gone.</summary>
    void Send(ReadOnlySpan<byte> bytes);
}
