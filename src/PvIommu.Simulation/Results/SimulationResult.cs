namespace PvIommu.Simulation.Results;

/// <summary>
/// Everything a run found, as plain data (strings and numbers only, so that the Report layer
/// needs nothing but this assembly). The same scenario and seed give the same result, field for
/// field; nothing here depends on the wall clock.
/// </summary>
public sealed record SimulationResult
{
    /// <summary>The scenario's name.</summary>
    public required string Scenario { get; init; }

    /// <summary>What the scenario shows.</summary>
    public required string Description { get; init; }

    /// <summary>The seed.</summary>
    public required ulong Seed { get; init; }

    /// <summary>Simulated time run, ns.</summary>
    public required long DurationNs { get; init; }

    /// <summary>Share of epochs run in full (the rest extrapolated).</summary>
    public required double Detail { get; init; }

    /// <summary>The settings that shape the result (policy, batch, superpages, cost model), as key and value.</summary>
    public required IReadOnlyList<Setting> Settings { get; init; }

    /// <summary>Per domain.</summary>
    public required IReadOnlyList<DomainResult> Domains { get; init; }

    /// <summary>Per device that had a workload.</summary>
    public required IReadOnlyList<DeviceResult> Devices { get; init; }

    /// <summary>Per IOMMU context, at the end of the run (before teardown).</summary>
    public required IReadOnlyList<ContextResult> Contexts { get; init; }

    /// <summary>Per IOMMU unit.</summary>
    public required IReadOnlyList<UnitResult> Units { get; init; }

    /// <summary>The fault log as Xen drained it from the units (the first <see cref="FaultLogLimit"/> records).</summary>
    public required IReadOnlyList<FaultResult> Faults { get; init; }

    /// <summary>Faults the units detected in all (recorded or dropped).</summary>
    public required long FaultsTotal { get; init; }

    /// <summary>What was blocked: per device, target and reason, how many DMA requests the IOMMU refused.</summary>
    public required IReadOnlyList<BlockedResult> Blocked { get; init; }

    /// <summary>What the run checked about itself (isolation, leak audit), each passed or not.</summary>
    public required IReadOnlyList<CheckResult> Checks { get; init; }

    /// <summary>Counters over simulated time.</summary>
    public required TimelineResult Timeline { get; init; }

    /// <summary>Most fault records kept in <see cref="Faults"/>.</summary>
    public const int FaultLogLimit = 500;
}

/// <summary>A named setting.</summary>
/// <param name="Key">Its scenario key ("driver.policy").</param>
/// <param name="Value">Its value as written.</param>
public sealed record Setting(string Key, string Value);

/// <summary>Modelled time, split by where it goes (docs/cost-model.md). A value: workloads model every operation's latency with it.</summary>
/// <param name="HypercallNs">Hypercall traps × hypercall cost.</param>
/// <param name="PteNs">PTE writes × PTE-write cost.</param>
/// <param name="InvalidationNs">IOTLB invalidations × invalidation latency.</param>
/// <param name="WalkNs">Page-walk steps × walk-step cost.</param>
/// <param name="TransferNs">Bytes moved ÷ device bandwidth.</param>
public readonly record struct ModelledTime(double HypercallNs, double PteNs, double InvalidationNs, double WalkNs, double TransferNs)
{
    /// <summary>CPU time of the control path (hypercalls, PTE writes, invalidations).</summary>
    public double ControlNs => HypercallNs + PteNs + InvalidationNs;

    /// <summary>Device-side time (walks and transfers).</summary>
    public double DeviceNs => WalkNs + TransferNs;

    /// <summary>Everything.</summary>
    public double TotalNs => ControlNs + DeviceNs;

    /// <summary>The sum of two.</summary>
    public static ModelledTime operator +(ModelledTime a, ModelledTime b) => new(
        a.HypercallNs + b.HypercallNs, a.PteNs + b.PteNs, a.InvalidationNs + b.InvalidationNs, a.WalkNs + b.WalkNs, a.TransferNs + b.TransferNs);

    /// <summary>Nothing.</summary>
    public static ModelledTime Zero { get; } = new(0, 0, 0, 0, 0);
}

/// <summary>One domain.</summary>
public sealed record DomainResult
{
    /// <summary>Domid.</summary>
    public required int Id { get; init; }

    /// <summary>Name.</summary>
    public required string Name { get; init; }

    /// <summary>"pv" or "pvh".</summary>
    public required string Type { get; init; }

    /// <summary>The pv_iommu policy in force.</summary>
    public required string PvIommu { get; init; }

    /// <summary>The driver's boot line (what probing found).</summary>
    public required string Driver { get; init; }

    /// <summary>Whether its driver has PV-IOMMU contexts (false: fallback, direct DMA).</summary>
    public required bool PvIommuAvailable { get; init; }

    /// <summary>Hypercall traps.</summary>
    public required long Hypercalls { get; init; }

    /// <summary>iommu_op operations (multicall entries counted).</summary>
    public required long IommuOps { get; init; }

    /// <summary>IOTLB invalidation commands its calls caused.</summary>
    public required long Invalidations { get; init; }

    /// <summary>Page-table entries its calls wrote.</summary>
    public required long PteWrites { get; init; }

    /// <summary>DMA bytes its devices moved.</summary>
    public required long DmaBytes { get; init; }

    /// <summary>DMA requests of its devices the IOMMU refused.</summary>
    public required long Faults { get; init; }

    /// <summary>Arena size in page-table pages (0 before init or without PV-IOMMU).</summary>
    public required long ArenaPages { get; init; }

    /// <summary>Arena pages in use at the end.</summary>
    public required long ArenaInUse { get; init; }

    /// <summary>Most arena pages ever in use.</summary>
    public required long ArenaPeak { get; init; }

    /// <summary>Modelled time of its control path and its devices.</summary>
    public required ModelledTime Modelled { get; init; }
}

/// <summary>A latency histogram: power-of-two buckets.</summary>
/// <param name="LowerBoundsNs">Each bucket's lower bound, ns.</param>
/// <param name="Counts">Operations per bucket.</param>
/// <param name="MeanNs">Mean.</param>
/// <param name="P50Ns">Median (bucket upper bound).</param>
/// <param name="P99Ns">99th percentile (bucket upper bound).</param>
/// <param name="MaxNs">Largest.</param>
public sealed record HistogramResult(IReadOnlyList<double> LowerBoundsNs, IReadOnlyList<long> Counts, double MeanNs, double P50Ns, double P99Ns, double MaxNs);

/// <summary>One device with a workload.</summary>
public sealed record DeviceResult
{
    /// <summary>PCI address.</summary>
    public required string Device { get; init; }

    /// <summary>What it is ("nic", "nvme", ...).</summary>
    public required string Class { get; init; }

    /// <summary>The domain that drives it.</summary>
    public required string Domain { get; init; }

    /// <summary>The context its DMA goes through at the end of the run.</summary>
    public required int Context { get; init; }

    /// <summary>The IOMMU unit that translates it.</summary>
    public required string Unit { get; init; }

    /// <summary>The workload kind.</summary>
    public required string Workload { get; init; }

    /// <summary>How its buffers are mapped ("dma-api strict", "vfio", "direct (unprotected)").</summary>
    public required string Mapping { get; init; }

    /// <summary>Operations (frames, I/Os, transfers, attempts).</summary>
    public required long Operations { get; init; }

    /// <summary>Bytes read from memory.</summary>
    public required long BytesRead { get; init; }

    /// <summary>Bytes written to memory.</summary>
    public required long BytesWritten { get; init; }

    /// <summary>DMA requests.</summary>
    public required long Transfers { get; init; }

    /// <summary>Refused DMA requests.</summary>
    public required long Faults { get; init; }

    /// <summary>Hypercall traps its driver made for it.</summary>
    public required long Hypercalls { get; init; }

    /// <summary>IOTLB invalidations its driver's calls caused.</summary>
    public required long Invalidations { get; init; }

    /// <summary>PTE writes its driver's calls caused.</summary>
    public required long PteWrites { get; init; }

    /// <summary>IOTLB lookups that hit.</summary>
    public required long IotlbHits { get; init; }

    /// <summary>IOTLB lookups that missed (each a walk).</summary>
    public required long IotlbMisses { get; init; }

    /// <summary>Page-table words its walks read.</summary>
    public required long WalkSteps { get; init; }

    /// <summary>Modelled time.</summary>
    public required ModelledTime Modelled { get; init; }

    /// <summary>Latency of one operation, modelled.</summary>
    public required HistogramResult Latency { get; init; }

    /// <summary>Workload-specific figures (frames recycled, I/Os by size, breaches...).</summary>
    public required IReadOnlyList<Setting> Details { get; init; }
}

/// <summary>A range of device frames in a context's address space.</summary>
/// <param name="StartDfn">First device frame.</param>
/// <param name="Frames">4 KiB frames.</param>
/// <param name="Label">What it is ("rx ring", "user buffer", "gpu-rmrr (reserved)", "identity: RAM").</param>
public sealed record RangeResult(ulong StartDfn, ulong Frames, string Label);

/// <summary>One IOMMU context.</summary>
public sealed record ContextResult
{
    /// <summary>The owning domain.</summary>
    public required string Domain { get; init; }

    /// <summary>Context number.</summary>
    public required int Number { get; init; }

    /// <summary>"default-identity", "default-shared", "default-blocked", "paging", "identity".</summary>
    public required string Kind { get; init; }

    /// <summary>Devices in it.</summary>
    public required IReadOnlyList<string> Devices { get; init; }

    /// <summary>4 KiB frames mapped.</summary>
    public required long MappedFrames { get; init; }

    /// <summary>Page-table pages it holds.</summary>
    public required long TablePages { get; init; }

    /// <summary>Width of its address space in bits.</summary>
    public required int AddressBits { get; init; }

    /// <summary>What is mapped where (as the drivers know it, plus reserved regions).</summary>
    public required IReadOnlyList<RangeResult> Ranges { get; init; }
}

/// <summary>One IOMMU unit.</summary>
public sealed record UnitResult
{
    /// <summary>Name.</summary>
    public required string Name { get; init; }

    /// <summary>"vt-d" or "amd-v1".</summary>
    public required string Format { get; init; }

    /// <summary>Page-table levels.</summary>
    public required int Levels { get; init; }

    /// <summary>Its scope as written.</summary>
    public required string Scope { get; init; }

    /// <summary>4 KiB pieces translated or refused.</summary>
    public required long Translations { get; init; }

    /// <summary>IOTLB hits.</summary>
    public required long IotlbHits { get; init; }

    /// <summary>IOTLB misses.</summary>
    public required long IotlbMisses { get; init; }

    /// <summary>Page walks.</summary>
    public required long Walks { get; init; }

    /// <summary>Page-table words read.</summary>
    public required long WalkSteps { get; init; }

    /// <summary>IOTLB invalidation commands of every kind.</summary>
    public required long Invalidations { get; init; }

    /// <summary>Refused DMA requests.</summary>
    public required long Faults { get; init; }

    /// <summary>Fault records dropped because the log was full.</summary>
    public required long FaultsDropped { get; init; }
}

/// <summary>One fault record.</summary>
/// <param name="TimeNs">Simulated time Xen drained it (end of the epoch).</param>
/// <param name="Unit">The unit.</param>
/// <param name="Sequence">Its sequence number in the unit.</param>
/// <param name="Requester">Requester ID as the unit saw it.</param>
/// <param name="Address">Faulting bus address.</param>
/// <param name="Access">"read" or "write".</param>
/// <param name="Reason">Why.</param>
public sealed record FaultResult(long TimeNs, string Unit, long Sequence, string Requester, ulong Address, string Access, string Reason);

/// <summary>Refused DMA, grouped.</summary>
/// <param name="Device">The device.</param>
/// <param name="Target">What it aimed at (for a rogue device), or "-".</param>
/// <param name="Reason">Why the IOMMU refused.</param>
/// <param name="Count">How many requests.</param>
public sealed record BlockedResult(string Device, string Target, string Reason, long Count);

/// <summary>Something the run checked about itself.</summary>
/// <param name="Name">What.</param>
/// <param name="Passed">Whether it held.</param>
/// <param name="Detail">The numbers behind it.</param>
public sealed record CheckResult(string Name, bool Passed, string Detail);

/// <summary>Counters over simulated time.</summary>
/// <param name="BucketNs">Simulated time per point.</param>
/// <param name="Domains">The domains whose arena occupancy each point lists, in order.</param>
/// <param name="Points">The points.</param>
public sealed record TimelineResult(long BucketNs, IReadOnlyList<string> Domains, IReadOnlyList<TimelinePoint> Points);

/// <summary>One point of the timeline.</summary>
/// <param name="TimeNs">Its end.</param>
/// <param name="Hypercalls">Hypercall traps in it.</param>
/// <param name="Invalidations">IOTLB invalidations in it.</param>
/// <param name="DmaBytes">DMA bytes in it.</param>
/// <param name="Faults">Faults in it.</param>
/// <param name="ArenaPages">Arena pages in use at its end, per domain of <see cref="TimelineResult.Domains"/>.</param>
public sealed record TimelinePoint(long TimeNs, long Hypercalls, long Invalidations, long DmaBytes, long Faults, IReadOnlyList<long> ArenaPages);
