namespace PvIommu.Guest;

/// <summary>
/// The driver's notion of time, in nanoseconds: the deferred-unmap timer (10 ms in Linux) reads
/// it, so a simulation drives time explicitly and every run is deterministic.
/// </summary>
public interface ISimClock
{
    /// <summary>Nanoseconds since an arbitrary origin; never decreases.</summary>
    long NowNanoseconds { get; }
}

/// <summary>A clock that moves only when told to.</summary>
public sealed class ManualClock : ISimClock
{
    /// <summary>Nanoseconds in one millisecond.</summary>
    public const long NanosecondsPerMillisecond = 1_000_000;

    /// <inheritdoc/>
    public long NowNanoseconds { get; private set; }

    /// <summary>Moves time forward by <paramref name="nanoseconds"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">a negative step.</exception>
    public void Advance(long nanoseconds)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(nanoseconds);
        NowNanoseconds += nanoseconds;
    }

    /// <summary>Moves time forward by <paramref name="milliseconds"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">a negative step.</exception>
    public void AdvanceMilliseconds(long milliseconds) => Advance(milliseconds * NanosecondsPerMillisecond);
}
