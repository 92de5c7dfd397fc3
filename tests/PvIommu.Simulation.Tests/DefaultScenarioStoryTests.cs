using PvIommu.Simulation.Results;
using PvIommu.Simulation.Scenarios;

namespace PvIommu.Simulation.Tests;

/// <summary>The built-in scenario tells its story: the rogue is caught, VFIO is confined, the DomU's NIC moves bytes.</summary>
public class DefaultScenarioStoryTests
{
    private static readonly Lazy<SimulationResult> _default = new(() =>
    {
        var outcome = Simulator.Run(ScenarioParser.Default());
        Assert.True(outcome.IsOk, outcome.Error?.ToString());
        return outcome.Result!;
    });

    private static SimulationResult Result => _default.Value;

    private static DeviceResult Device(string workload, string domain) =>
        Result.Devices.Single(d => d.Workload == workload && d.Domain == domain);

    [Fact]
    public void DefaultScenario_Runs_AndEveryCheckPasses()
    {
        Assert.Equal(3, Result.Checks.Count);
        Assert.All(Result.Checks, c => Assert.True(c.Passed, $"{c.Name}: {c.Detail}"));
    }

    [Fact]
    public void Rogue_EveryAttemptIsBlocked_AndRecordedInTheFaultLog()
    {
        var rogue = Device("rogue", "Domain-0");
        var attempts = long.Parse(rogue.Details.Single(d => d.Key == "attempts").Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(attempts >= 1000);
        Assert.Equal("0", rogue.Details.Single(d => d.Key == "breaches").Value);
        Assert.Equal(attempts, rogue.Faults);
        Assert.Equal(0, rogue.BytesRead + rogue.BytesWritten);

        // Every kind of target was tried and every attempt at it refused.
        var blocked = Result.Blocked.Where(b => b.Device == rogue.Device).ToList();
        Assert.Equal(attempts, blocked.Sum(b => b.Count));
        Assert.DoesNotContain(blocked, b => b.Reason == "got through");
        Assert.Equal(4, blocked.Select(b => b.Target).Distinct().Count());

        // The hardware's fault log holds them, under the rogue's requester ID.
        Assert.Contains(Result.Faults, f => f.Requester == rogue.Device);
        Assert.True(Result.FaultsTotal >= attempts);
    }

    [Fact]
    public void Vfio_ReachesOnlyWhatTheUserMapped()
    {
        var gpu = Device("bulk", "Domain-0");
        Assert.Equal("vfio (user-mapped)", gpu.Mapping);
        Assert.True(gpu.BytesRead > 0 && gpu.BytesWritten > 0);
        Assert.Equal("0", gpu.Details.Single(d => d.Key == "successful DMA outside the user's mappings").Value);
        Assert.True(Result.Checks.Single(c => c.Name.Contains("VFIO", StringComparison.Ordinal)).Passed);

        // Its context holds the user's buffer and its reserved region, and nothing of dom0's RAM.
        var context = Result.Contexts.Single(c => c.Devices.Contains(gpu.Device));
        Assert.Equal("paging", context.Kind);
        Assert.Contains(context.Ranges, r => r.Label == "user buffer (vfio)" && r.StartDfn == 0x100000 && r.Frames == 4096);
        Assert.Contains(context.Ranges, r => r.Label.StartsWith("gpu-rmrr", StringComparison.Ordinal));
        Assert.Equal(4096 + 16, context.MappedFrames);

        // The user buffer maps once: no hypercall per transfer.
        Assert.True(gpu.Hypercalls < 10);
    }

    [Fact]
    public void DomU_PassthroughNic_MovesBytes_ThroughItsDefaultContext()
    {
        var nic = Device("nic-rx", "domu");
        Assert.True(nic.BytesWritten > 1_000_000);
        Assert.Equal(0, nic.Faults);
        Assert.Equal(0, nic.Context);
        Assert.Equal("dmar1", nic.Unit);
        Assert.Equal("direct (unprotected)", nic.Mapping);
        var domU = Result.Domains.Single(d => d.Name == "domu");
        Assert.False(domU.PvIommuAvailable);
        Assert.Equal("caps-only", domU.PvIommu);
    }

    [Fact]
    public void Dom0_DevicesEachGetAPagingContext_AndPayForTheirMaps()
    {
        var dom0 = Result.Domains.Single(d => d.Name == "Domain-0");
        Assert.True(dom0.PvIommuAvailable);
        Assert.True(dom0.Hypercalls > 1000);
        Assert.True(dom0.ArenaPeak > 0 && dom0.ArenaPeak <= dom0.ArenaPages);
        Assert.True(dom0.Modelled.ControlNs > 0 && dom0.Modelled.DeviceNs > 0);
        var contexts = Result.Devices.Where(d => d.Domain == "Domain-0").Select(d => d.Context).ToList();
        Assert.Equal(contexts.Count, contexts.Distinct().Count());
        Assert.DoesNotContain(0, contexts);
        var nic = Device("nic-rx", "Domain-0");
        Assert.True(nic.Hypercalls > 0 && nic.Latency.Counts.Sum() > 0);
    }

    [Fact]
    public void Timeline_CoversTheRun()
    {
        var t = Result.Timeline;
        Assert.Equal(100, t.Points.Count);
        Assert.Equal(Result.DurationNs, t.Points[^1].TimeNs);
        Assert.Equal(["Domain-0", "domu"], t.Domains);
        Assert.True(t.Points.Sum(p => p.Faults) > 0);
    }

    [Fact]
    public void DeferredPolicy_CutsInvalidations_AndOpensTheUseAfterUnmapWindow()
    {
        var outcome = Simulator.Run(ScenarioParser.Default(["driver.policy=deferred", "duration=20ms"]));
        Assert.True(outcome.IsOk, outcome.Error?.ToString());
        var r = outcome.Result!;
        var nic = r.Devices.Single(d => d.Workload == "nic-rx" && d.Domain == "Domain-0");
        var strict = Simulator.Run(ScenarioParser.Default(["driver.policy=strict", "duration=20ms"])).Result!
            .Devices.Single(d => d.Workload == "nic-rx" && d.Domain == "Domain-0");
        Assert.True(nic.Invalidations * 20 < strict.Invalidations, $"deferred {nic.Invalidations} invalidations, strict {strict.Invalidations}");
        Assert.True(nic.Hypercalls * 20 < strict.Hypercalls, $"deferred {nic.Hypercalls} hypercalls, strict {strict.Hypercalls}");
        var rogue = r.Devices.Single(d => d.Workload == "rogue");
        Assert.NotEqual("0", rogue.Details.Single(d => d.Key == "breaches").Value);
        Assert.Contains(r.Blocked, b => b.Target.StartsWith("unmapped IOVA", StringComparison.Ordinal) && b.Reason == "got through");
    }
}
