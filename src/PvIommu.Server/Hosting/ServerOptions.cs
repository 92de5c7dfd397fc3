namespace PvIommu.Server;

/// <summary>How a <see cref="PvIommuServer"/> runs.</summary>
public sealed record ServerOptions
{
    /// <summary>Where to listen (default <c>./pviommu.sock</c>).</summary>
    public ServerEndpoint Endpoint { get; init; } = ServerEndpoint.Default;

    /// <summary>Sessions at once; one more opening gets -EBUSY (default <see cref="ServerLimits.DefaultMaxSessions"/>).</summary>
    public int MaxSessions { get; init; } = ServerLimits.DefaultMaxSessions;

    /// <summary>How long a new connection may take to send its opening before it is closed (default 10 s; zero: no limit).</summary>
    public TimeSpan OpeningTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a connection's thread polls its socket for the client's next request before it
    /// sleeps in a blocking receive (default <see cref="ServerLimits.DefaultBusyPoll"/>; zero:
    /// sleep at once). A client that calls again within this time skips the kernel's wake-up,
    /// ~10 µs on a VM, at the cost of this much CPU time after each call.
    /// </summary>
    public TimeSpan BusyPoll { get; init; } = ServerLimits.DefaultBusyPoll;

    /// <summary>Where <c>--trace</c> writes one line per call; <see langword="null"/>: no trace.</summary>
    public TextWriter? Trace { get; init; }

    /// <summary>Where the server reports what goes wrong on a connection (default: standard error).</summary>
    public TextWriter Log { get; init; } = Console.Error;
}

/// <summary>The server cannot start (the endpoint is in use, or cannot be bound); the message says why.</summary>
public sealed class ServerStartException : Exception
{
    /// <summary>An exception with a message for the user.</summary>
    public ServerStartException(string message)
        : base(message)
    {
    }

    /// <summary>An exception with a message for the user and its cause.</summary>
    public ServerStartException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>An exception without a message (prefer the other constructors).</summary>
    public ServerStartException()
    {
    }
}
