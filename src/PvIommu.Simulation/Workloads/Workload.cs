using PvIommu.Devices;
using PvIommu.Guest.Dma;
using PvIommu.Platform.Iommu;
using PvIommu.Simulation.Results;
using PvIommu.Simulation.Running;
using PvIommu.Simulation.Scenarios;

namespace PvIommu.Simulation.Workloads;

/// <summary>
/// One device's workload: a device model from the Devices layer, the driver that feeds it
/// (through the Guest layer's DMA API or VFIO container), and the tallies of what it cost.
/// </summary>
internal abstract class Workload
{
    private double _owed;

    protected Workload(SimContext context, WorkloadSpec spec, double opsPerSecond)
    {
        Context = context;
        Spec = spec;
        Kernel = context.KernelOf(spec.Device);
        Unit = context.Host.Machine.UnitOf(spec.Device);
        OpsPerSecond = opsPerSecond;
        Random = new SplitMix(context.Scenario.Seed ^ ((ulong)spec.Device.Value * 0x9E3779B97F4A7C15UL));
    }

    public SimContext Context { get; }

    public WorkloadSpec Spec { get; }

    public GuestKernel Kernel { get; }

    public IommuUnit Unit { get; }

    public double OpsPerSecond { get; }

    public SplitMix Random { get; }

    public abstract IDmaDevice Device { get; }

    /// <summary>How buffers are mapped, for the summary.</summary>
    public abstract string Mapping { get; }

    public UnmapMode Policy => Spec.Policy ?? Context.Scenario.Driver.Policy;

    public long Operations { get; protected set; }

    public CallCost Calls { get; protected set; }

    public WalkCost Walks { get; protected set; }

    public Histogram Latency { get; } = new();

    /// <summary>Maps the rings and buffers and starts the device.</summary>
    public abstract void Setup();

    /// <summary>Runs the operations due in [<paramref name="startNs"/>, <paramref name="endNs"/>).</summary>
    public void Run(long startNs, long endNs)
    {
        _owed += OpsPerSecond * (endNs - startNs) / 1e9;
        var due = (long)Math.Floor(_owed);
        _owed -= due;
        if (due > 0)
        {
            RunOperations(due, startNs, endNs);
        }
    }

    /// <summary>Called at the end of each epoch (the deferred-unmap timer).</summary>
    public abstract void Poll();

    /// <summary>Live mappings, for the address-space map (device frames and a label).</summary>
    public abstract IEnumerable<RangeResult> Ranges();

    /// <summary>Workload-specific figures.</summary>
    public abstract IEnumerable<Setting> Details();

    /// <summary>What the workload checks about itself at the end (before teardown).</summary>
    public virtual IEnumerable<CheckResult> Checks() => [];

    /// <summary>How many refused requests per (target, reason) this device had; null to take the fault log's.</summary>
    public virtual IEnumerable<BlockedResult>? Blocked() => null;

    /// <summary>Unmaps everything and gives the device back to context 0.</summary>
    public abstract void Teardown();

    protected abstract void RunOperations(long count, long startNs, long endNs);

    protected void Charge(CallCost calls, WalkCost walks)
    {
        Calls += calls;
        Walks += walks;
    }

    protected static string Describe(DmaDevice? dma) =>
        dma is null ? "-" : dma.IsProtected ? $"dma-api {(dma.Options.Policy == UnmapPolicy.Deferred ? "deferred" : "strict")}" : "direct (unprotected)";

    /// <summary>The guest DMA API for the device, bound to the domain for a Devices-layer driver.</summary>
    protected GuestDriverEnvironment CreateEnvironment()
    {
        var before = Context.Meter.Calls(Kernel.Driver);
        var ret = DmaDevice.Create(Kernel.Driver, SimContext.Address(Spec.Device), Context.DmaOptions(Policy), out var dma);
        if (ret != 0)
        {
            throw new SimulationException($"{Spec.Device} ({Kernel.Spec.Name}): cannot set up the DMA API: {Abi.XenErrnos.Describe(ret)}");
        }

        Charge(Context.Meter.Calls(Kernel.Driver) - before, default);
        Environment = new GuestDriverEnvironment(Context, Kernel, dma!);
        return Environment;
    }

    protected GuestDriverEnvironment? Environment { get; private set; }

    /// <summary>The environment's live mappings, adjacent ones of one direction merged.</summary>
    protected IEnumerable<RangeResult> LiveRanges(string what)
    {
        if (Environment is null)
        {
            yield break;
        }

        RangeResult? open = null;
        foreach (var (dfn, pages, direction) in Environment.Dma.Mappings().OrderBy(m => m.Pfn))
        {
            var label = $"{what} ({direction.ToString().ToLowerInvariant()})";
            if (open is not null && open.StartDfn + open.Frames == dfn && open.Label == label)
            {
                open = open with { Frames = open.Frames + pages };
                continue;
            }

            if (open is not null)
            {
                yield return open;
            }

            open = new RangeResult(dfn, pages, label);
        }

        if (open is not null)
        {
            yield return open;
        }
    }
}

/// <summary>SplitMix64: the seeded generator of the simulation's choices.</summary>
internal sealed class SplitMix(ulong seed)
{
    private ulong _state = seed;

    public ulong Next()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [0, <paramref name="bound"/>).</summary>
    public ulong Below(ulong bound) => bound == 0 ? 0 : Next() % bound;

    public void Fill(Span<byte> bytes)
    {
        for (var i = 0; i < bytes.Length; i += 8)
        {
            var v = Next();
            for (var j = 0; j < 8 && i + j < bytes.Length; j++)
            {
                bytes[i + j] = (byte)(v >> (8 * j));
            }
        }
    }
}
