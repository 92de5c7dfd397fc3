using System.Runtime.CompilerServices;
using PvIommu.Guest;
using PvIommu.Guest.Dma;
using PvIommu.Hypervisor;
using PvIommu.Hypervisor.Calls;
using PvIommu.Hypervisor.Domains;
using PvIommu.Simulation.Build;
using PvIommu.Simulation.Results;
using PvIommu.Simulation.Scenarios;

namespace PvIommu.Simulation.Running;

/// <summary>A domain's kernel as the simulation runs it: its PV-IOMMU driver and its RAM.</summary>
internal sealed record GuestKernel(Domain Domain, DomainSpec Spec, XenIommuDriver Driver, GuestMemory Memory, CallCost ProbeCost);

/// <summary>What every workload shares: the host, the clock, the cost model, the kernels, the meter.</summary>
internal sealed class SimContext
{
    private readonly Dictionary<string, GuestKernel> _kernels = new(StringComparer.Ordinal);

    public SimContext(Scenario scenario, BuiltHost built)
    {
        Scenario = scenario;
        Built = built;
        Meter = new Meter(built.Host);
        foreach (var spec in scenario.Domains)
        {
            var domain = built.Domains[spec.Name];
            var before = new CallCost(0, 0, Host.Counters.IotlbInvalidations, Host.Counters.PteWrites);
            var devices = spec.Pci.Select(p => new DeviceInfo(Address(p), ReservedOf(p))).ToList();
            var driver = XenIommuDriver.Probe(new InProcessChannel(Host, domain), devices, new XenIommuOptions
            {
                ArenaOrder = (uint)scenario.Driver.ArenaOrder,
                MaxContexts = (uint)scenario.Driver.MaxContexts,
                UseSuperpages = scenario.Driver.Superpages,
                BatchRuns = scenario.Driver.BatchRuns,
            });
            var probe = Meter.Calls(driver) - before;
            _kernels[spec.Name] = new GuestKernel(domain, spec, driver, new GuestMemory(Host, domain), probe);
        }
    }

    public Scenario Scenario { get; }

    public BuiltHost Built { get; }

    public Host Host => Built.Host;

    public ManualClock Clock { get; } = new();

    public Meter Meter { get; }

    public CostModel Cost => Scenario.Cost;

    public IEnumerable<GuestKernel> Kernels => _kernels.Values;

    public GuestKernel KernelOf(Platform.Pci.Sbdf device) =>
        _kernels.Values.First(k => k.Spec.Pci.Contains(device));

    public static PciAddress Address(Platform.Pci.Sbdf sbdf) => new(sbdf.Segment, sbdf.Bus, sbdf.DevFn);

    public DmaOptions DmaOptions(UnmapMode policy) => new()
    {
        Policy = policy == UnmapMode.Deferred ? UnmapPolicy.Deferred : UnmapPolicy.Strict,
        Clock = Clock,
        FlushQueueEntries = Scenario.Driver.Batch,
        FlushTimeoutNanoseconds = Scenario.Driver.FlushTimeoutNs,
    };

    public ModelledTime Model(CallCost calls, WalkCost walks, long bytes) => new(
        calls.Traps * Cost.HypercallNs,
        calls.PteWrites * Cost.PteWriteNs,
        calls.Invalidations * Cost.IotlbInvalidationNs,
        walks.WalkSteps * Cost.WalkStepNs,
        Cost.TransferNs(bytes));

    public double LatencyNs(CallCost calls, WalkCost walks, long bytes) => Model(calls, walks, bytes).TotalNs;

    /// <summary>
    /// <see cref="LatencyNs"/> of DMAs of <paramref name="bytes"/> that make no call, from their
    /// walk steps alone (a NIC reads no other walk counter per frame): the transfer's time, a
    /// division, is worked out once for a run of frames instead of once per frame.
    /// </summary>
    public DeviceLatency DeviceLatencyOf(long bytes) => new(Cost.WalkStepNs, Cost.TransferNs(bytes));

    private List<ReservedRange> ReservedOf(Platform.Pci.Sbdf device) =>
        [.. Scenario.Host.Reserved.Where(r => r.Devices.Contains(device)).Select(r => new ReservedRange(r.StartFrame, r.Frames, ReservedKind.Direct, r.Name))];
}

/// <summary>A device's modelled latency for DMAs of one size that made no call (<see cref="ModelledTime.DeviceNs"/>).</summary>
/// <param name="StepNs">Each walk step.</param>
/// <param name="TransferNs">Moving the bytes over the link.</param>
internal readonly record struct DeviceLatency(double StepNs, double TransferNs)
{
    /// <summary>The latency of one such DMA that took <paramref name="walkSteps"/> walk steps.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public double Ns(long walkSteps) => (walkSteps * StepNs) + TransferNs;
}
