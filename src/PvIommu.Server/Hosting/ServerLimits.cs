namespace PvIommu.Server;

/// <summary>The server's documented limits (<c>docs/server.md</c>).</summary>
public static class ServerLimits
{
    /// <summary>
    /// Sessions served at once unless configured otherwise; the next opening gets -EBUSY. Each
    /// session is a thread and at least a 16 KiB receive and a 16 KiB response buffer.
    /// </summary>
    public const int DefaultMaxSessions = 256;
}
