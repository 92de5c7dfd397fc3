using System.Diagnostics;
using System.Globalization;
using PvIommu.Devices;
using PvIommu.Devices.Drivers;
using PvIommu.Devices.Network;
using PvIommu.Platform.Memory;
using PvIommu.Simulation.Results;
using PvIommu.Simulation.Running;
using PvIommu.Simulation.Scenarios;

namespace PvIommu.Simulation.Workloads;

/// <summary>
/// NIC receive at line rate: the Devices layer's <see cref="NicDriver"/> (page pool, NAPI polls)
/// over the guest's DMA API. Frames arrive at the line rate; after every NAPI budget of frames
/// the driver polls, recycling most pages and replacing the rest (an unmap and a map).
/// </summary>
internal sealed class NicRxWorkload : Workload
{
    private readonly NicRxSpec _spec;
    private readonly Nic _nic;
    // The frame on the wire, line-aligned as a NIC's packet buffer is.
    private readonly ArraySegment<byte> _frame;
    private readonly double[] _deviceNs;
    private GuestDriverEnvironment? _environment;
    private NicDriver? _driver;
    private long _dropped;
    private long _deviceTicks;
    private long _driverTicks;

    public NicRxWorkload(SimContext context, NicRxSpec spec)
        : base(context, spec, spec.LineRateBitsPerSecond / (8.0 * (spec.FrameBytes + 20)))
    {
        _spec = spec;
        _nic = new Nic(context.Host.Machine, spec.Device) { RxWriteBackThreshold = spec.WriteBack };
        _frame = CacheLineBuffer.Allocate(spec.FrameBytes);
        _deviceNs = new double[spec.Napi];
        Random.Fill(_frame);
    }

    public override IDmaDevice Device => _nic;

    /// <summary>The NIC model (for the replay's counters).</summary>
    public Nic Nic => _nic;

    /// <summary>
    /// Wall-clock time spent in the device's half of every batch so far: the NIC taking frames
    /// off the wire (descriptor fetches, the data writes through the IOMMU, write-backs), with
    /// each frame's device latency worked out as it lands.
    /// </summary>
    public TimeSpan DeviceTime => Stopwatch.GetElapsedTime(0, _deviceTicks);

    /// <summary>
    /// Wall-clock time spent in the driver's NAPI polls so far: reaping, recycling, the DMA API's
    /// maps and unmaps and the hypercalls they make.
    /// </summary>
    public TimeSpan DriverTime => Stopwatch.GetElapsedTime(0, _driverTicks);

    public override string Mapping => Describe(_environment?.Dma);

    public override void Setup()
    {
        _environment = CreateEnvironment();
        var before = _environment.Spent;
        _driver = NicDriver.TryStart(_nic, _environment, new NicDriverOptions
        {
            RxRingSize = _spec.Ring,
            TxRingSize = 8,
            RxBufferSize = _spec.BufferBytes,
            PoolCacheSize = _spec.Ring,
            RecycleRate = _spec.Recycle,
            Seed = Random.Next(),
        }) ?? throw new SimulationException($"{Spec.Device} ({Kernel.Spec.Name}): the NIC driver cannot map its rings (is the domain's memory or arena too small?)");
        Charge(_environment.Spent - before, default);
    }

    public override void Poll() => _environment?.Dma.Poll();

    public override IEnumerable<RangeResult> Ranges() => _environment?.Dma.IsProtected == true ? LiveRanges("rx ring, buffers") : [];

    public override IEnumerable<Setting> Details()
    {
        var pool = _driver?.Pool.Stats ?? default;
        var stats = _nic.Stats;
        return
        [
            new("frames received", stats.RxFrames.ToString(CultureInfo.InvariantCulture)),
            new("frames missed (no buffer)", stats.RxMissed.ToString(CultureInfo.InvariantCulture)),
            new("frames lost to DMA faults", stats.RxDmaErrors.ToString(CultureInfo.InvariantCulture)),
            new("pages mapped into the pool", pool.Maps.ToString(CultureInfo.InvariantCulture)),
            new("pages unmapped from the pool", pool.Unmaps.ToString(CultureInfo.InvariantCulture)),
            new("pages recycled (no hypercall)", pool.Recycled.ToString(CultureInfo.InvariantCulture)),
            new("frames dropped", _dropped.ToString(CultureInfo.InvariantCulture)),
        ];
    }

    public override void Teardown()
    {
        _driver?.Stop();
        _environment?.Dma.Shutdown();
    }

    protected override void RunOperations(long count, long startNs, long endNs)
    {
        // Each delivered frame's device latency in this NAPI batch, until the poll's share is known.
        var device = _deviceNs;
        var latency = Context.DeviceLatencyOf(_frame.Count + RxDescriptor.Size);
        while (count > 0)
        {
            var batch = (int)Math.Min(count, _spec.Napi);
            count -= batch;
            var arrived = 0;

            // The batch's walks are charged once; each frame's latency needs only its walk steps.
            var walks = Meter.Walks(Unit);
            var started = Stopwatch.GetTimestamp();
            for (var i = 0; i < batch; i++)
            {
                var steps = Unit.WalkStepCount;
                var outcome = _nic.Receive(_frame);
                Operations++;
                if (outcome != RxOutcome.Delivered)
                {
                    _dropped++;
                    continue;
                }

                device[arrived++] = latency.Ns(Unit.WalkStepCount - steps);
            }

            // The interrupt that starts the poll comes after the NIC writes back what it holds.
            _nic.FlushRxWriteBack();
            Charge(default, Meter.Walks(Unit) - walks);
            var polling = Stopwatch.GetTimestamp();
            var spent = _environment!.Spent;
            _driver!.Poll(_spec.Napi, null);
            var polled = Stopwatch.GetTimestamp();
            _deviceTicks += polling - started;
            _driverTicks += polled - polling;
            var calls = _environment.Spent - spent;
            Charge(calls, default);
            var share = arrived == 0 ? 0 : Context.LatencyNs(calls, default, 0) / arrived;
            for (var i = 0; i < arrived; i++)
            {
                Latency.Add(device[i] + share);
            }
        }
    }
}
