using System.Diagnostics;
using System.Globalization;
using PvIommu.Simulation.Build;
using PvIommu.Simulation.Running;
using PvIommu.Simulation.Scenarios;
using PvIommu.Simulation.Workloads;

namespace PvIommu.Simulation.Replay;

/// <summary>What <see cref="NicReplay"/> runs: a 100 GbE receive stream and the driver's unmap policy.</summary>
public sealed record NicReplayOptions
{
    /// <summary>The DMA API's unmap policy.</summary>
    public UnmapMode Policy { get; init; } = UnmapMode.Deferred;

    /// <summary>Frames (4 KiB page DMAs) timed, after a warm-up of a tenth as many.</summary>
    public long Frames { get; init; } = 3_000_000;

    /// <summary>RX ring entries.</summary>
    public int Ring { get; init; } = 1024;

    /// <summary>Frames reaped per NAPI poll.</summary>
    public int Napi { get; init; } = 64;

    /// <summary>Share of pages the stack gives back to the page pool.</summary>
    public double Recycle { get; init; } = 0.8;

    /// <summary>Deferred policy: unmaps per flush.</summary>
    public int Batch { get; init; } = 256;

    /// <summary>Receive descriptors the NIC writes back in one burst: 4, a 64-byte cache line of them.</summary>
    public int WriteBack { get; init; } = 4;

    /// <summary>The seed of the recycling choices.</summary>
    public ulong Seed { get; init; } = 1;
}

/// <summary>What a replay measured.</summary>
/// <param name="Frames">Frames received and delivered while timed (each one 4 KiB page written by the NIC).</param>
/// <param name="Bytes">Bytes the NIC wrote into those pages.</param>
/// <param name="Seconds">Wall-clock time of the timed part on this thread.</param>
/// <param name="Traps">Hypercall traps (a multicall is one) while timed.</param>
/// <param name="IommuOps">iommu_op entries those traps carried.</param>
/// <param name="Invalidations">IOTLB invalidations the hypervisor issued while timed.</param>
/// <param name="Dropped">Frames not delivered (no buffer posted, or a DMA fault): 0 in a healthy run.</param>
/// <param name="DeviceSeconds">Of <paramref name="Seconds"/>, the time in the NIC's receive loop: descriptor fetches, the data writes through the IOMMU, write-backs.</param>
/// <param name="DriverSeconds">Of <paramref name="Seconds"/>, the time in the driver's NAPI polls: reaping, recycling, the DMA API's maps and unmaps and their hypercalls. The rest of <paramref name="Seconds"/> is the epochs' own work and the latency histogram.</param>
public sealed record NicReplayResult(long Frames, long Bytes, double Seconds, long Traps, long IommuOps, long Invalidations, long Dropped, double DeviceSeconds, double DriverSeconds)
{
    private const double MiB = 1 << 20;

    /// <summary>Received pages per second of wall-clock time.</summary>
    public double PageDmasPerSecond => Frames / Seconds;

    /// <summary>Nanoseconds per page in the device's half (<see cref="DeviceSeconds"/>).</summary>
    public double DeviceNsPerPage => DeviceSeconds * 1e9 / Frames;

    /// <summary>Nanoseconds per page in the driver's half (<see cref="DriverSeconds"/>).</summary>
    public double DriverNsPerPage => DriverSeconds * 1e9 / Frames;

    /// <summary>Hypercall traps per MiB received.</summary>
    public double HypercallsPerMiB => Traps / (Bytes / MiB);

    /// <summary>IOTLB invalidations per MiB received.</summary>
    public double InvalidationsPerMiB => Invalidations / (Bytes / MiB);
}

/// <summary>
/// The <c>replay-nic</c> engine: the <c>nic-rx</c> workload of the simulation (NIC model, page-pool
/// driver, the guest DMA API, the hypervisor's map and unmap, IOTLB), run flat out on one thread
/// in 1 ms epochs of simulated time, with every epoch in full. A 100 GbE stream is 3.05 M pages/s:
/// a replay faster than that runs in real time.
/// </summary>
public static class NicReplay
{
    private const long EpochNs = 1_000_000;

    /// <summary>Builds dom0 with a 100 GbE NIC, warms up, then times <see cref="NicReplayOptions.Frames"/> frames.</summary>
    /// <exception cref="SimulationException">The host or the driver could not be set up.</exception>
    public static NicReplayResult Run(NicReplayOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Frames, 1);
        var parsed = ScenarioParser.Parse(ScenarioText(options), "<replay-nic>");
        var scenario = parsed.Scenario ?? throw new SimulationException($"replay-nic: {parsed.Error}");
        var built = HostBuilder.Build(scenario);
        var context = new SimContext(scenario, built);
        var workload = new NicRxWorkload(context, (NicRxSpec)scenario.Workloads[0]);
        workload.Setup();
        try
        {
            var now = 0L;
            Advance(context, workload, ref now, Math.Max(options.Frames / 10, options.Ring * 4L));
            var driver = context.KernelOf(workload.Spec.Device).Driver;
            var calls = context.Meter.Calls(driver);
            var nic = workload.Nic.Stats;
            var (device, polls) = (workload.DeviceTime, workload.DriverTime);
            var clock = Stopwatch.StartNew();
            Advance(context, workload, ref now, options.Frames);
            var seconds = clock.Elapsed.TotalSeconds;
            var spent = context.Meter.Calls(driver) - calls;
            var after = workload.Nic.Stats;
            var frames = after.RxFrames - nic.RxFrames;
            return new NicReplayResult(
                frames,
                after.RxBytes - nic.RxBytes,
                seconds,
                spent.Traps,
                spent.Ops,
                spent.Invalidations,
                after.RxMissed - nic.RxMissed + after.RxDmaErrors - nic.RxDmaErrors,
                (workload.DeviceTime - device).TotalSeconds,
                (workload.DriverTime - polls).TotalSeconds);
        }
        finally
        {
            workload.Teardown();
        }
    }

    /// <summary>Runs epochs until <paramref name="frames"/> more frames have arrived.</summary>
    private static void Advance(SimContext context, NicRxWorkload workload, ref long now, long frames)
    {
        var target = workload.Operations + frames;
        while (workload.Operations < target)
        {
            var perEpoch = workload.OpsPerSecond * EpochNs / 1e9;
            var end = now + (workload.Operations + perEpoch <= target ? EpochNs : (long)Math.Ceiling((target - workload.Operations) * 1e9 / workload.OpsPerSecond));
            workload.Run(now, end);
            context.Clock.Advance(end - context.Clock.NowNanoseconds);
            workload.Poll();
            now = end;
        }
    }

    private static string ScenarioText(NicReplayOptions o) => string.Create(CultureInfo.InvariantCulture, $"""
        name = "replay-nic"
        seed = {o.Seed}
        duration = "1s"
        epoch = "1ms"

        [host]
        memory = "8GiB"
        huge_pages = true

        [[host.iommu]]
        name = "dmar0"
        format = "vt-d"
        scope = "include-all"

        [[host.pci]]
        bdf = "00:02.0"
        class = "nic"

        [driver]
        policy = "{(o.Policy == UnmapMode.Deferred ? "deferred" : "strict")}"
        batch = {o.Batch}

        [[domain]]
        name = "Domain-0"
        hardware = true
        type = "pv"
        memory = 2048
        pci = ['00:02.0']

        [[workload]]
        kind = "nic-rx"
        device = "00:02.0"
        line_rate = "100Gbps"
        frame = 4000
        buffer = 4096
        ring = {o.Ring}
        napi = {o.Napi}
        recycle = {o.Recycle}
        write_back = {o.WriteBack}
        """);
}
