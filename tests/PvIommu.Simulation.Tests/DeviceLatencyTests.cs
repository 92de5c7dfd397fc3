using PvIommu.Simulation.Build;
using PvIommu.Simulation.Running;
using PvIommu.Simulation.Scenarios;
using PvIommu.Tests.Shared;

namespace PvIommu.Simulation.Tests;

/// <summary>
/// The per-frame device latency a NIC workload records (<see cref="SimContext.DeviceLatencyOf"/>,
/// worked out once per batch) is the cost model's device time of a DMA that made no call.
/// </summary>
public class DeviceLatencyTests
{
    [Theory]
    [InlineData(0, 4016)]
    [InlineData(1, 4016)]
    [InlineData(4, 272)]
    [InlineData(37, 65536)]
    public void DeviceLatencyOf_IsTheModelsDeviceTime_ForThoseWalkSteps(long steps, long bytes)
    {
        var parsed = ScenarioParser.ParseFile(Path.Combine(RepositoryRoot.Folder, "examples", "nic-100g.toml"));
        var scenario = parsed.Scenario!;
        var context = new SimContext(scenario, HostBuilder.Build(scenario));
        var walks = new WalkCost(Translations: 0, Walks: 0, WalkSteps: steps, IotlbHits: 0, IotlbMisses: 0);

        var expected = context.Model(default, walks, bytes).DeviceNs;

        Assert.Equal(expected, context.DeviceLatencyOf(bytes).Ns(steps));
        Assert.True(expected > 0);
    }
}
