using PvIommu.Simulation.Replay;
using PvIommu.Simulation.Scenarios;

namespace PvIommu.Simulation.Tests;

/// <summary>The replay-nic engine: the control path a 100 GbE receive stream costs under each unmap policy.</summary>
public class NicReplayTests
{
    private const long Frames = 40_000;

    [Fact]
    public void Deferred_AtMostOneTrapAndOneInvalidationPerMiB()
    {
        var r = NicReplay.Run(new NicReplayOptions { Policy = UnmapMode.Deferred, Frames = Frames });

        Assert.Equal(0, r.Dropped);
        Assert.InRange(r.Frames, Frames - 64, Frames + 64);
        Assert.Equal(r.Frames * 4000, r.Bytes);
        Assert.InRange(r.HypercallsPerMiB, 0.01, 1);
        Assert.InRange(r.InvalidationsPerMiB, 0.01, 1);

        // About a fifth of the pages leave the pool: an unmap and a new map each.
        Assert.InRange(r.IommuOps / (double)r.Frames, 0.3, 0.5);
    }

    [Fact]
    public void Strict_OneTrapAndOneInvalidationPerUnmap()
    {
        var r = NicReplay.Run(new NicReplayOptions { Policy = UnmapMode.Strict, Frames = Frames });
        var deferred = NicReplay.Run(new NicReplayOptions { Policy = UnmapMode.Deferred, Frames = Frames });

        Assert.Equal(0, r.Dropped);
        Assert.True(r.HypercallsPerMiB > 40 * deferred.HypercallsPerMiB, $"strict {r.HypercallsPerMiB} vs deferred {deferred.HypercallsPerMiB}");
        Assert.True(r.InvalidationsPerMiB > 40 * deferred.InvalidationsPerMiB, $"strict {r.InvalidationsPerMiB} vs deferred {deferred.InvalidationsPerMiB}");
    }

    [Fact]
    public void SameSeed_SameControlPath()
    {
        var a = NicReplay.Run(new NicReplayOptions { Frames = 20_000, Seed = 9 });
        var b = NicReplay.Run(new NicReplayOptions { Frames = 20_000, Seed = 9 });

        Assert.Equal((a.Frames, a.Traps, a.IommuOps, a.Invalidations), (b.Frames, b.Traps, b.IommuOps, b.Invalidations));
    }

    [Fact]
    public void WriteBackBursts_ChangeNeitherTheFramesNorTheControlPath()
    {
        var single = NicReplay.Run(new NicReplayOptions { Frames = 20_000, WriteBack = 1 });
        var bursts = NicReplay.Run(new NicReplayOptions { Frames = 20_000, WriteBack = 4 });

        Assert.Equal((single.Frames, single.Bytes, single.Traps, single.IommuOps, single.Invalidations), (bursts.Frames, bursts.Bytes, bursts.Traps, bursts.IommuOps, bursts.Invalidations));
        Assert.Equal(0, bursts.Dropped);
    }

    [Fact]
    public void DeviceAndDriverHalves_AreEachPartOfTheTimedRun()
    {
        var r = NicReplay.Run(new NicReplayOptions { Frames = 20_000 });

        Assert.True(r.DeviceSeconds > 0, $"device {r.DeviceSeconds}");
        Assert.True(r.DriverSeconds > 0, $"driver {r.DriverSeconds}");

        // Both halves are measured inside the timed run (a microsecond for the clocks' rounding).
        Assert.True(r.DeviceSeconds + r.DriverSeconds <= r.Seconds + 1e-6, $"device {r.DeviceSeconds} + driver {r.DriverSeconds} > {r.Seconds}");
        Assert.Equal(r.DeviceSeconds * 1e9 / r.Frames, r.DeviceNsPerPage, 6);
        Assert.Equal(r.DriverSeconds * 1e9 / r.Frames, r.DriverNsPerPage, 6);
    }

    [Fact]
    public void NoRecycling_EveryFrameCostsAMap_TheUnmapsOfARefillGoAsOneEntry()
    {
        // Every page leaves the pool: one map_pages entry each. They leave in ring order, so the
        // pages of one refill (adjacent IOVAs) are unmapped by one entry of the deferred flush.
        var r = NicReplay.Run(new NicReplayOptions { Frames = 20_000, Recycle = 0 });

        Assert.InRange(r.IommuOps / (double)r.Frames, 1.0, 1.1);
        Assert.Equal(0, r.Dropped);
    }
}
