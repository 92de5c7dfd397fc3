using PvIommu.Simulation.Results;
using PvIommu.Simulation.Scenarios;

namespace PvIommu.Simulation.Tests;

/// <summary>
/// "4 KiB vs superpages" is the host's knob (spec §3: the hypervisor writes the largest leaf that
/// fits): the default scenario under <c>host.superpages=false</c> and <c>true</c>, as
/// <c>--compare host.superpages=false,true</c> runs it, differs in tables, walks and modelled time.
/// </summary>
public class SuperpagesComparisonTests
{
    private static readonly Lazy<(SimulationResult Off, SimulationResult On)> _runs = new(() => (Run("host.superpages=false"), Run("host.superpages=true")));

    private static SimulationResult Off => _runs.Value.Off;

    private static SimulationResult On => _runs.Value.On;

    private static SimulationResult Run(params string[] overrides)
    {
        var outcome = Simulator.Run(ScenarioParser.Default([.. overrides, "duration=10ms"]));
        Assert.True(outcome.IsOk, outcome.Error?.ToString());
        Assert.All(outcome.Result!.Checks, c => Assert.True(c.Passed, $"{c.Name}: {c.Detail}"));
        return outcome.Result!;
    }

    private static long TablePages(SimulationResult r) => r.Contexts.Sum(c => c.TablePages);

    [Fact]
    public void Settings_RecordTheHostKnob()
    {
        Assert.Equal("false", Off.Settings.Single(s => s.Key == "host.superpages").Value);
        Assert.Equal("true", On.Settings.Single(s => s.Key == "host.superpages").Value);
    }

    [Fact]
    public void WithoutSuperpages_EveryContextHoldsMoreTablePages()
    {
        // Context 0 maps dom0's 2 GiB 1:1: 2 MiB leaves need one table per GiB, 4 KiB leaves one per 2 MiB.
        Assert.True(TablePages(Off) > 10 * TablePages(On), $"{TablePages(Off)} table pages without superpages, {TablePages(On)} with");
        foreach (var on in On.Contexts.Where(c => c.MappedFrames >= 512))
        {
            var off = Off.Contexts.Single(c => c.Domain == on.Domain && c.Number == on.Number);
            Assert.Equal(on.MappedFrames, off.MappedFrames);
            Assert.True(off.TablePages >= on.TablePages, $"{on.Domain} ctx {on.Number}: {off.TablePages} vs {on.TablePages}");
        }
    }

    [Fact]
    public void WithoutSuperpages_TheVfioBufferCostsAnArenaPageAndAPteWritePerFrame()
    {
        // The 16 MiB user buffer is 2 MiB-aligned in IOVA and guest memory: 8 leaves with superpages, 4096 without.
        Assert.True(Off.Domains[0].ArenaPeak > On.Domains[0].ArenaPeak, $"arena peak {Off.Domains[0].ArenaPeak} vs {On.Domains[0].ArenaPeak}");
        Assert.True(Off.Domains[0].PteWrites >= On.Domains[0].PteWrites + 4096 - 8, $"PTE writes {Off.Domains[0].PteWrites} vs {On.Domains[0].PteWrites}");
    }

    [Fact]
    public void WithoutSuperpages_DevicesMissTheIotlbMoreAndTakeLonger()
    {
        var gpu = (Off: Off.Devices.Single(d => d.Workload == "bulk"), On: On.Devices.Single(d => d.Workload == "bulk"));
        Assert.True(gpu.Off.IotlbMisses > 100 * gpu.On.IotlbMisses, $"GPU IOTLB misses {gpu.Off.IotlbMisses} vs {gpu.On.IotlbMisses}");
        Assert.True(gpu.Off.Latency.MeanNs > gpu.On.Latency.MeanNs);
        Assert.True(Off.Domains.Sum(d => d.Modelled.DeviceNs) > On.Domains.Sum(d => d.Modelled.DeviceNs));
        Assert.Equal(On.Devices.Sum(d => d.BytesRead + d.BytesWritten), Off.Devices.Sum(d => d.BytesRead + d.BytesWritten));
    }

    [Fact]
    public void DriverSuperpages_ChangesOnlyTheCalls_NotTheTables()
    {
        // Spec §3: the leaves do not depend on the pgsize asked, so the driver's choice leaves the tables as they are.
        var driverOff = Run("driver.superpages=false", "host.superpages=true");
        Assert.Equal(TablePages(On), TablePages(driverOff));
        Assert.Equal(On.Domains.Sum(d => d.PteWrites), driverOff.Domains.Sum(d => d.PteWrites));
    }

    [Fact]
    public void WithoutSuperpages_AReservedRegionTooLargeToBoot_IsAScenarioErrorNotACrash()
    {
        // 2^20 frames in 4 KiB leaves need about 2,050 table pages; dom_io's context 0 has 32.
        var text = ScenarioParser.DefaultText
            .Replace("start = 0x7f000", "start = 0x10000", StringComparison.Ordinal)
            .Replace("frames = 16\n", "frames = 0x60000\n", StringComparison.Ordinal);
        var parsed = ScenarioParser.Parse(text, "big-rmrr.toml", ["host.superpages=false"]);
        Assert.True(parsed.IsOk, parsed.Error?.ToString());

        var outcome = Simulator.Run(parsed.Scenario!);

        Assert.False(outcome.IsOk);
        Assert.Equal("big-rmrr.toml", outcome.Error!.File);
        Assert.Contains("cannot boot", outcome.Error.Message, StringComparison.Ordinal);
    }
}
