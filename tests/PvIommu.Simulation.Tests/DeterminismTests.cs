using PvIommu.Simulation.Results;
using PvIommu.Simulation.Scenarios;

namespace PvIommu.Simulation.Tests;

/// <summary>The same seed gives the same run; another seed gives another.</summary>
public class DeterminismTests
{
    private static SimulationResult Run(params string[] overrides)
    {
        var outcome = Simulator.Run(ScenarioParser.Default([.. overrides, "duration=10ms"]));
        Assert.True(outcome.IsOk, outcome.Error?.ToString());
        return outcome.Result!;
    }

    private static string Fingerprint(SimulationResult r) => string.Join(
        "|",
        r.Devices.Select(d => $"{d.Device}:{d.Operations}:{d.BytesRead}:{d.BytesWritten}:{d.Hypercalls}:{d.Invalidations}:{d.PteWrites}:{d.WalkSteps}:{d.Faults}:{d.Latency.MeanNs}"))
        + string.Join("|", r.Faults.Select(f => $"{f.Sequence}:{f.Address}:{f.Reason}"));

    [Fact]
    public void SameSeed_SameResult()
    {
        Assert.Equal(Fingerprint(Run("seed=5")), Fingerprint(Run("seed=5")));
    }

    [Fact]
    public void OtherSeed_OtherResult()
    {
        Assert.NotEqual(Fingerprint(Run("seed=5")), Fingerprint(Run("seed=6")));
    }

    [Fact]
    public void Sampling_RunsOneEpochInN_AndScalesTheCounts()
    {
        var full = Run();
        var sampled = Run("detail=0.25");
        Assert.Equal(0.25, sampled.Detail);
        var a = full.Devices.Single(d => d.Workload == "nvme");
        var b = sampled.Devices.Single(d => d.Workload == "nvme");

        // The same rate over the same simulated time: the scaled counts land near the full run's.
        Assert.InRange(b.Operations, a.Operations * 0.9, a.Operations * 1.1);
        Assert.InRange(b.BytesRead + b.BytesWritten, (a.BytesRead + a.BytesWritten) * 0.7, (a.BytesRead + a.BytesWritten) * 1.3);
    }
}
