using System.Collections.Concurrent;
using PvIommu.Abi;
using PvIommu.Hypervisor.Calls;
using PvIommu.Hypervisor.Domains;
using PvIommu.Hypervisor.Iommu;
using PvIommu.Hypervisor.Memory;
using PvIommu.Platform.Iommu;
using PvIommu.Platform.Memory;
using PvIommu.Platform.PageTables;
using PvIommu.Platform.Pci;

namespace PvIommu.Hypervisor;

/// <summary>
/// The simulated Xen: the host heap and frame table, the domains, device ownership, the IOMMU
/// driver and the <c>iommu_op</c> dispatcher. The toolstack API (create and destroy domains,
/// assign devices, balloon) is on this type too, in its partial files.
/// </summary>
/// <remarks>
/// Lock order: <see cref="_toolstack"/>, then domain locks in domid order, then the IOMMU
/// hardware lock. Hypercalls take only their target domain's lock.
/// </remarks>
public sealed partial class Host
{
    /// <summary>dom_io's id (Xen's DOMID_IO): the owner of quarantined devices.</summary>
    public const ushort DomIoId = 0x7FF1;

    private readonly ConcurrentDictionary<ushort, Domain> _domains = new();

    private readonly ConcurrentDictionary<Sbdf, DeviceBinding> _devices = new();
    private readonly Lock _toolstack = new();
    private long _hypercalls;
    private long _multicalls;
    private long _continuations;
    private readonly PteTally _pteTally = new();

    /// <summary>
    /// Boots a host on <paramref name="machine"/>: the heap is frames [<paramref name="heapFirst"/>,
    /// +<paramref name="heapFrames"/>); every other frame (MMIO, reserved regions, Xen itself) is
    /// never handed out. dom_io exists from the start; the hardware domain is created by the
    /// toolstack like any other, with <see cref="CreateHardwareDomain"/>.
    /// </summary>
    public Host(Machine machine, Mfn heapFirst, ulong heapFrames, HostOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(machine);
        Options = options ?? new HostOptions();
        Machine = machine;
        Heap = new HostMemory(machine.Memory, heapFirst, heapFrames);
        Frames = new FrameTable(Heap);
        Hardware = new IommuHardware(machine);
        Levels = Options.Levels ?? Hardware.Levels;
        Cpus = new CpuPool(Options.PhysicalCpus);
        Dispatcher = new IommuOpDispatcher(this);
        DomIo = new Domain(DomIoId, new DomainConfig("dom_io", DomainKind.Pv, 0) { PvIommu = PvIommuPolicy.Off }, false, true);
        _domains[DomIoId] = DomIo;
        if (Hardware.Present)
        {
            BootDevices();
        }
    }

    /// <summary>The hardware the host runs on.</summary>
    public Machine Machine { get; }

    /// <summary>Knobs.</summary>
    public HostOptions Options { get; }

    /// <summary>Xen's heap of free frames.</summary>
    public HostMemory Heap { get; }

    /// <summary>Owner, M2P and reference count of every frame.</summary>
    public FrameTable Frames { get; }

    /// <summary>Whether the host has IOMMU hardware.</summary>
    public bool HasIommu => Hardware.Present;

    /// <summary>dom_io.</summary>
    public Domain DomIo { get; }

    /// <summary>The hardware domain, once created.</summary>
    public Domain? HardwareDomain { get; private set; }

    /// <summary>Live domains (dom_io excluded), by id.</summary>
    public IEnumerable<Domain> Domains => _domains.Values.Where(d => !d.IsDomIo).OrderBy(d => d.Id);

    /// <summary>Highest device address a context accepts (query_capabilities' max_iova_addr).</summary>
    public ulong MaxIovaAddress => (1UL << (12 + (9 * Levels))) - 1;

    /// <summary>
    /// The page sizes query_capabilities reports and map, unmap and flush accept (spec §3):
    /// 4 KiB | 2 MiB | 1 GiB, or 4 KiB alone without <see cref="HostOptions.Superpages"/>.
    /// </summary>
    public uint PgsizeMask => Options.Superpages ? PageSizes.SupportedMask : PageSizes.Size4K;

    /// <summary>
    /// The highest level the hypervisor writes a leaf at: 1 GiB leaves (level 3), or 4 KiB
    /// leaves only (level 1) without <see cref="HostOptions.Superpages"/>.
    /// </summary>
    internal int MaxLeafLevel => Options.Superpages ? PageLevel.MaxLeafLevel : 1;

    /// <summary>Page-table levels of every context.</summary>
    public int Levels { get; }

    /// <summary>The iommu_op dispatcher.</summary>
    public IommuOpDispatcher Dispatcher { get; }

    internal IommuHardware Hardware { get; }

    internal CpuPool Cpus { get; }

    internal DomainIdAllocator DomainIds { get; } = new();

    /// <summary>
    /// The domain <paramref name="id"/>, if it exists. dom_io is never found: it owns quarantined
    /// devices but no guest or toolstack operation may name it (use <see cref="DomIo"/>).
    /// </summary>
    public Domain? FindDomain(ushort id) => _domains.TryGetValue(id, out var d) && !d.IsDying && !d.IsDomIo ? d : null;

    /// <summary>The domain <paramref name="id"/>.</summary>
    /// <exception cref="KeyNotFoundException">no such domain.</exception>
    public Domain GetDomain(ushort id) => FindDomain(id) ?? throw new KeyNotFoundException($"no domain {id}");

    /// <summary>Who owns <paramref name="device"/> and which context translates it, if it is known.</summary>
    public (Domain Owner, IommuContext Context)? DeviceState(Sbdf device) =>
        _devices.TryGetValue(device, out var b) ? (b.Owner, b.Context) : null;

    /// <summary>The hypervisor's counters now.</summary>
    public HostCounters Counters => new()
    {
        Hypercalls = Volatile.Read(ref _hypercalls),
        Multicalls = Volatile.Read(ref _multicalls),
        Continuations = Volatile.Read(ref _continuations),
        IotlbInvalidations = IotlbInvalidations,
        ContextInvalidations = Hardware.ContextInvalidations,
        PteWrites = PteWrites,
        FramesFreedByLastReference = Frames.FreedByLastReference,
    };

    /// <summary>IOTLB invalidations issued so far (<see cref="HostCounters.IotlbInvalidations"/> without a snapshot).</summary>
    public long IotlbInvalidations => Hardware.IotlbInvalidations;

    /// <summary>Page-table entries written so far, by every context live or gone (<see cref="HostCounters.PteWrites"/> without a snapshot).</summary>
    public long PteWrites => _pteTally.Writes;

    /// <summary>Before any domain exists, every PCI endpoint sits in dom_io's context 0 (its reserved regions only).</summary>
    private void BootDevices()
    {
        if (BuildDefaultContext(DomIo) is not null)
        {
            throw new InvalidOperationException("the heap cannot hold dom_io's default context");
        }

        var quarantine = DomIo.Iommu.Default!;
        foreach (var function in Machine.Topology.Functions.Where(f => !f.IsBridge))
        {
            foreach (var region in function.ReservedRegions)
            {
                if (quarantine.AddReservedUse(region) && MapReserved(quarantine, region) is not null)
                {
                    throw new InvalidOperationException($"cannot map {function.Sbdf}'s reserved region {region}");
                }
            }

            Hardware.Program(function.Sbdf, DeviceContext.Translated(quarantine.HardwareDomainId, quarantine.Table.Root, Levels), null);
            quarantine.Devices.Add(function.Sbdf);
            DomIo.Devices.Add(function.Sbdf);
            _devices[function.Sbdf] = new DeviceBinding(DomIo, quarantine);
        }
    }

    internal void CountHypercall() => Interlocked.Increment(ref _hypercalls);

    internal void CountMulticall() => Interlocked.Increment(ref _multicalls);

    internal void CountContinuation() => Interlocked.Increment(ref _continuations);

    /// <summary>Where a device is: its owner and the context its DMA goes through.</summary>
    internal sealed class DeviceBinding(Domain owner, IommuContext context)
    {
        public Domain Owner { get; set; } = owner;

        public IommuContext Context { get; set; } = context;
    }
}
