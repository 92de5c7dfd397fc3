namespace PvIommu.Server;

/// <summary>The server's documented limits (<c>docs/server.md</c>).</summary>
public static class ServerLimits
{
    /// <summary>
    /// Sessions served at once unless configured otherwise; the next opening gets -EBUSY. Each
    /// session is a thread and at least a 16 KiB receive and a 16 KiB response buffer.
    /// </summary>
    public const int DefaultMaxSessions = 256;

    /// <summary>
    /// How long a connection's thread, and a client of this project, polls its socket for the
    /// peer's next bytes before sleeping in a blocking receive unless configured otherwise: 50 µs.
    /// </summary>
    public static readonly TimeSpan DefaultBusyPoll = TimeSpan.FromMicroseconds(50);
}
