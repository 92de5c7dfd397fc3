using PvIommu.Platform.PageTables;
using PvIommu.Platform.Pci;

namespace PvIommu.Simulation.Scenarios;

/// <summary>
/// A whole simulation, as a scenario file describes it: the host, its domains (read like
/// <c>xl.cfg</c>), the device workloads, the driver policy, the cost model, how long to run in
/// simulated time and the seed every random choice follows from. See <c>docs/simulation.md</c>.
/// </summary>
public sealed record Scenario
{
    /// <summary>A short name for reports.</summary>
    public string Name { get; init; } = "scenario";

    /// <summary>One paragraph saying what the scenario shows.</summary>
    public string Description { get; init; } = string.Empty;

    /// <summary>Where it came from (a file name, or <c>&lt;built-in&gt;</c>).</summary>
    public string Source { get; init; } = "<built-in>";

    /// <summary>Seed of every random choice (frame sizes, block sizes, rogue targets, scheduling order).</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Simulated time to run, in nanoseconds.</summary>
    public long DurationNs { get; init; } = 50_000_000;

    /// <summary>Simulated time between two scheduler rounds (and timeline samples), in nanoseconds.</summary>
    public long EpochNs { get; init; } = 1_000_000;

    /// <summary>
    /// Share of epochs run in full, up to 1: below 1, the scheduler runs one epoch in every
    /// 1/detail and extrapolates the others from it (docs/simulation.md, "Sampling"); 0 means
    /// "auto": as many as keep the run under <see cref="AutoDetailOperations"/> device operations.
    /// </summary>
    public double Detail { get; init; } = 1.0;

    /// <summary>With <c>detail = "auto"</c>, the most device operations (frames, I/Os, transfers, attempts) run in full.</summary>
    public const double AutoDetailOperations = 3_000_000;

    /// <summary>The machine.</summary>
    public HostSpec Host { get; init; } = new();

    /// <summary>The Dom0 driver's policy (and every other domain's).</summary>
    public DriverSpec Driver { get; init; } = new();

    /// <summary>What each counted event costs in modelled time.</summary>
    public CostModel Cost { get; init; } = new();

    /// <summary>The domains, the hardware domain first.</summary>
    public IReadOnlyList<DomainSpec> Domains { get; init; } = [];

    /// <summary>What the devices do.</summary>
    public IReadOnlyList<WorkloadSpec> Workloads { get; init; } = [];
}

/// <summary>The machine: memory, IOMMU units, PCI functions and reserved regions.</summary>
public sealed record HostSpec
{
    /// <summary>Machine memory in bytes (the heap grows if the domains need more).</summary>
    public ulong MemoryBytes { get; init; } = 8UL << 30;

    /// <summary>Physical CPUs that run hypercalls.</summary>
    public int Cpus { get; init; } = 4;

    /// <summary>Frames a hypercall processes between two preemption checks.</summary>
    public int PreemptBatch { get; init; } = 256;

    /// <summary>
    /// Whether the hypervisor writes 2 MiB and 1 GiB leaves; false is Xen's
    /// <c>iommu=no-superpages</c> (4 KiB leaves only, <c>pgsize_mask</c> 4 KiB).
    /// </summary>
    public bool Superpages { get; init; } = true;

    /// <summary>
    /// Whether the simulated machine's memory is backed by 2 MiB transparent huge pages where the
    /// operating system allows (fewer TLB misses when devices stream over many frames, 2 MiB of
    /// resident memory per written chunk). It changes the simulator's speed, nothing it models.
    /// </summary>
    public bool HugePages { get; init; }

    /// <summary>The IOMMU units (DMAR DRHDs or AMD IVHDs).</summary>
    public IReadOnlyList<IommuSpec> Units { get; init; } = [];

    /// <summary>The PCI functions, bridges included.</summary>
    public IReadOnlyList<PciSpec> Pci { get; init; } = [];

    /// <summary>Reserved memory regions (RMRR / IVMD) and the devices that use them.</summary>
    public IReadOnlyList<ReservedSpec> Reserved { get; init; } = [];
}

/// <summary>One IOMMU unit.</summary>
/// <param name="Name">Its name ("dmar0").</param>
/// <param name="Format">The page-table format it walks.</param>
/// <param name="Levels">4 or 5.</param>
/// <param name="Segment">The PCI segment it serves.</param>
/// <param name="IncludeAll">Whether it takes every requester ID no other unit names.</param>
/// <param name="Devices">Devices named in its scope.</param>
/// <param name="Buses">Bus ranges named in its scope (first, last).</param>
public sealed record IommuSpec(
    string Name,
    PageTableFormat Format,
    int Levels,
    ushort Segment,
    bool IncludeAll,
    IReadOnlyList<Sbdf> Devices,
    IReadOnlyList<(byte First, byte Last)> Buses)
{
    /// <summary>Records its fault log holds before it overflows.</summary>
    public int FaultLogCapacity { get; init; } = 256;
}

/// <summary>What a PCI function is.</summary>
public enum PciClass
{
    /// <summary>An Ethernet controller.</summary>
    Nic,

    /// <summary>A non-volatile memory controller.</summary>
    Nvme,

    /// <summary>A GPU-like 3D controller with a copy engine.</summary>
    Gpu,

    /// <summary>Anything else that does DMA.</summary>
    Other,

    /// <summary>A PCIe root port (requester IDs pass through).</summary>
    RootPort,

    /// <summary>A PCIe-to-PCI bridge (devices behind it alias to it).</summary>
    PcieToPci,
}

/// <summary>One PCI function.</summary>
/// <param name="Address">Its address.</param>
/// <param name="Class">What it is.</param>
/// <param name="PhantomFunctions">Phantom functions it uses (0-7).</param>
/// <param name="SecondaryBus">For a bridge, the first bus behind it.</param>
/// <param name="SubordinateBus">For a bridge, the last bus behind it.</param>
public sealed record PciSpec(Sbdf Address, PciClass Class, int PhantomFunctions, byte SecondaryBus, byte SubordinateBus)
{
    /// <summary>Whether it is a bridge.</summary>
    public bool IsBridge => Class is PciClass.RootPort or PciClass.PcieToPci;
}

/// <summary>A reserved region: frames a device's firmware keeps using, mapped 1:1 wherever the device is.</summary>
/// <param name="Name">Its name.</param>
/// <param name="StartFrame">First machine frame (= device frame).</param>
/// <param name="Frames">4 KiB frames.</param>
/// <param name="Devices">Devices that use it.</param>
public sealed record ReservedSpec(string Name, ulong StartFrame, ulong Frames, IReadOnlyList<Sbdf> Devices);

/// <summary>When an unmap takes effect.</summary>
public enum UnmapMode
{
    /// <summary>Every unmap invalidates the IOTLB before it returns.</summary>
    Strict,

    /// <summary>Unmaps queue and go out in batches with one invalidation each.</summary>
    Deferred,
}

/// <summary>The guest driver's policy.</summary>
public sealed record DriverSpec
{
    /// <summary>Strict or deferred unmap.</summary>
    public UnmapMode Policy { get; init; } = UnmapMode.Strict;

    /// <summary>Deferred policy: unmaps per batch (Linux's flush queue: 256).</summary>
    public int Batch { get; init; } = 256;

    /// <summary>Deferred policy: simulated time after which a partial batch goes out (Linux: 10 ms).</summary>
    public long FlushTimeoutNs { get; init; } = 10_000_000;

    /// <summary>Map 2 MiB and 1 GiB pages where aligned.</summary>
    public bool Superpages { get; init; } = true;

    /// <summary>Issue the runs of one request as one multicall.</summary>
    public bool BatchRuns { get; init; } = true;

    /// <summary>The arena's order asked for at init (2^order page-table pages).</summary>
    public int ArenaOrder { get; init; } = 12;

    /// <summary>Contexts asked for at init.</summary>
    public int MaxContexts { get; init; } = 128;
}

/// <summary>How a domain is virtualised.</summary>
public enum DomainType
{
    /// <summary>Paravirtualised (gfn = mfn).</summary>
    Pv,

    /// <summary>PVH (dfn = gfn through the p2m in context 0).</summary>
    Pvh,
}

/// <summary>The <c>pv_iommu</c> setting.</summary>
public enum PvIommuSetting
{
    /// <summary>The default: on for the hardware domain, caps-only for others.</summary>
    Default,

    /// <summary>Every sub-op.</summary>
    On,

    /// <summary>query_capabilities only.</summary>
    CapsOnly,

    /// <summary>Nothing.</summary>
    Off,
}

/// <summary>A domain, as an <c>xl.cfg</c> reads.</summary>
/// <param name="Name">Its name.</param>
/// <param name="Hardware">Whether it is the hardware domain (dom0).</param>
/// <param name="Type">PV or PVH.</param>
/// <param name="MemoryMiB">RAM in MiB (<c>memory =</c>).</param>
/// <param name="Pci">The devices it drives (<c>pci = [...]</c>): passed through for a DomU.</param>
/// <param name="PvIommu">The <c>pv_iommu</c> setting.</param>
/// <param name="Line">Where its section starts in the file.</param>
public sealed record DomainSpec(string Name, bool Hardware, DomainType Type, ulong MemoryMiB, IReadOnlyList<Sbdf> Pci, PvIommuSetting PvIommu, int Line);
