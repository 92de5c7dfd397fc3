namespace PvIommu.Simulation;

/// <summary>
/// A scenario that parses but cannot run as described (a domain too small for its workloads, a
/// driver that cannot map its rings): reported to the user as one line, like a bad scenario.
/// </summary>
public sealed class SimulationException : Exception
{
    /// <summary>Creates one.</summary>
    public SimulationException()
    {
    }

    /// <summary>Creates one with a message.</summary>
    public SimulationException(string message)
        : base(message)
    {
    }

    /// <summary>Creates one with a message and a cause.</summary>
    public SimulationException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
