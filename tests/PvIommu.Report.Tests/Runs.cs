using PvIommu.Simulation;
using PvIommu.Simulation.Results;
using PvIommu.Simulation.Scenarios;

namespace PvIommu.Report.Tests;

/// <summary>Short runs of the default scenario, shared by the tests (each is deterministic).</summary>
internal static class Runs
{
    private static readonly Lazy<SimulationResult> _shortDefault = new(() => Run("duration=20ms"));
    private static readonly Lazy<Comparison> _policyComparison = new(() =>
        new Comparison("driver.policy", ["strict", "deferred"], [Run("duration=20ms", "driver.policy=strict"), Run("duration=20ms", "driver.policy=deferred")]));

    public static SimulationResult Default => _shortDefault.Value;

    public static Comparison Compare => _policyComparison.Value;

    public static SimulationResult Run(params string[] overrides)
    {
        var outcome = Simulator.Run(ScenarioParser.Default(overrides));
        Assert.True(outcome.IsOk, outcome.Error?.ToString());
        return outcome.Result!;
    }
}
