using PvIommu.Hypervisor;
using PvIommu.Simulation.Build;
using PvIommu.Simulation.Scenarios;

namespace PvIommu.Simulation;

/// <summary>What booting a scenario's host gave: the host and its scenario, or the first problem found.</summary>
/// <param name="Host">The booted host, when there was no error.</param>
/// <param name="Scenario">The scenario it was built from, when there was no error.</param>
/// <param name="Error">The problem (file, line, what was expected), when there was one.</param>
public sealed record ScenarioHostOutcome(Host? Host, Scenario? Scenario, ScenarioError? Error)
{
    /// <summary>Whether the host booted.</summary>
    public bool IsOk => Host is not null;
}

/// <summary>
/// The host of a scenario without its workloads (<c>pviommu serve --host FILE</c>): the machine
/// built, Xen booted, dom0 created (owning every device), the DomUs created and their devices
/// assigned, exactly as <see cref="Simulator"/> does before it starts the workloads. No driver
/// is probed: dom0 and every DomU are left uninitialised, as on a freshly booted Xen.
/// </summary>
/// <remarks>
/// The hardware domain is domid 0 and the DomUs follow from 1 in file order. What only the
/// simulation uses (workloads, duration, seed, cost model, driver policy) is checked like any
/// scenario but has no effect on the host, except that <c>driver.arena_order</c> sizes the heap.
/// </remarks>
public static class ScenarioHost
{
    /// <summary>Reads the scenario file at <paramref name="path"/> and boots its host.</summary>
    /// <param name="path">A scenario file (TOML, docs/simulation.md).</param>
    /// <returns>The host, or the first problem with the file (never an exception for bad input).</returns>
    public static ScenarioHostOutcome BootFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var parsed = ScenarioParser.ParseFile(path);
        return parsed.Error is { } error ? new(null, null, error) : Boot(parsed.Scenario!);
    }

    /// <summary>Boots the host <paramref name="scenario"/> describes.</summary>
    /// <param name="scenario">A bound scenario.</param>
    /// <returns>The host, or why it does not boot (a domain that does not fit, a device that cannot be assigned).</returns>
    public static ScenarioHostOutcome Boot(Scenario scenario)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        try
        {
            return new(HostBuilder.Build(scenario).Host, scenario, null);
        }
        catch (ScenarioBindException e)
        {
            return new(null, null, e.Error);
        }
    }
}
