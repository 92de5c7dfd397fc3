using PvIommu.Simulation.Build;
using PvIommu.Simulation.Results;
using PvIommu.Simulation.Running;
using PvIommu.Simulation.Scenarios;
using PvIommu.Simulation.Workloads;

namespace PvIommu.Simulation;

/// <summary>What a run gave: the result, or why the scenario could not run.</summary>
/// <param name="Result">The result, when it ran.</param>
/// <param name="Error">The problem, when it did not.</param>
public sealed record SimulationOutcome(SimulationResult? Result, ScenarioError? Error)
{
    /// <summary>Whether it ran.</summary>
    public bool IsOk => Result is not null;
}

/// <summary>
/// Runs a scenario: builds the machine and boots Xen, probes each domain's driver, sets up each
/// workload, then runs epochs of simulated time with a seeded scheduler (the order of the
/// workloads inside an epoch is shuffled from the seed), draining the IOMMU fault logs and
/// sampling the counters after each. At the end it collects the results, checks isolation,
/// tears everything down and audits the host's books.
/// </summary>
public static class Simulator
{
    /// <summary>Runs <paramref name="scenario"/>.</summary>
    /// <param name="scenario">What to run.</param>
    /// <param name="progress">Told the share of simulated time done, from 0 to 1.</param>
    public static SimulationOutcome Run(Scenario scenario, IProgress<double>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        try
        {
            return new(Execute(scenario, progress), null);
        }
        catch (ScenarioBindException e)
        {
            return new(null, e.Error);
        }
        catch (SimulationException e)
        {
            return new(null, new ScenarioError(scenario.Source, 0, 0, e.Message));
        }
    }

    private static SimulationResult Execute(Scenario scenario, IProgress<double>? progress)
    {
        var built = HostBuilder.Build(scenario);
        var context = new SimContext(scenario, built);
        var workloads = scenario.Workloads.Select(w => Create(context, w)).ToList();
        foreach (var w in workloads)
        {
            w.Setup();
        }

        var recorder = new Recorder(context, workloads);
        var scheduler = new SplitMix(scenario.Seed ^ 0x5EED);
        var epochs = (int)Math.Max(1, (scenario.DurationNs + scenario.EpochNs - 1) / scenario.EpochNs);
        var stride = scenario.Detail > 0
            ? Math.Max(1, (int)Math.Round(1 / scenario.Detail))
            : Math.Max(1, (int)Math.Ceiling(workloads.Sum(w => w.OpsPerSecond) * scenario.DurationNs / 1e9 / Scenario.AutoDetailOperations));
        var order = workloads.ToArray();
        for (var e = 0; e < epochs; e++)
        {
            var start = (long)e * scenario.EpochNs;
            var end = Math.Min(scenario.DurationNs, start + scenario.EpochNs);
            var full = e % stride == 0;
            if (full)
            {
                Shuffle(order, scheduler);
                foreach (var w in order)
                {
                    w.Run(start, end);
                }
            }

            context.Clock.Advance(end - context.Clock.NowNanoseconds);
            foreach (var w in workloads)
            {
                w.Poll();
            }

            recorder.EndEpoch(end, full);
            progress?.Report((double)(e + 1) / epochs);
        }

        var checks = workloads.SelectMany(w => w.Checks()).ToList();
        recorder.DrainFaults(scenario.DurationNs);
        var result = recorder.Collect(epochs, stride);
        foreach (var w in workloads)
        {
            w.Teardown();
        }

        var audit = built.Host.Audit();
        checks.Add(new CheckResult(
            "host books balance after teardown (Host.Audit: arena pages back, references balanced, no orphan context)",
            audit.Count == 0,
            audit.Count == 0 ? "no problem" : string.Join("; ", audit.Take(5))));
        return result with { Checks = [.. result.Checks, .. checks] };
    }

    private static Workload Create(SimContext context, WorkloadSpec spec) => spec switch
    {
        NicRxSpec nic => new NicRxWorkload(context, nic),
        NvmeSpec nvme => new NvmeWorkload(context, nvme),
        BulkSpec bulk => new BulkWorkload(context, bulk),
        RogueSpec rogue => new RogueWorkload(context, rogue),
        _ => throw new SimulationException($"no workload of kind {spec.Kind}"),
    };

    private static void Shuffle<T>(T[] items, SplitMix random)
    {
        for (var i = items.Length - 1; i > 0; i--)
        {
            var j = (int)random.Below((ulong)i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
