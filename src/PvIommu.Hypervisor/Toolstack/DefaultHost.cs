using PvIommu.Hypervisor.Domains;
using PvIommu.Platform.Iommu;
using PvIommu.Platform.Memory;
using PvIommu.Platform.PageTables;
using PvIommu.Platform.Pci;

namespace PvIommu.Hypervisor.Toolstack;

/// <summary>
/// The built-in host of <c>docs/wire-protocol.md</c> ("Default host"), also what tests start
/// from: one VT-d unit, dom0 (PV, hardware domain, 1 GiB, not yet initialised) with three
/// devices, one with a reserved region, and a DomU (PVH, 256 MiB, caps-only) with a
/// passthrough NIC whose device model is dom0.
/// </summary>
/// <remarks>
/// <code>
///  machine frames   0x00000 ─ 0x7efff   low memory, not Xen's heap
///                   0x7f000 ─ 0x7f00f   RMRR of the GPU (64 KiB)
///                   0xf0000 ─ 0xfffff   MMIO (BARs)
///                   0x100000 ─ 0x1fffff Xen's heap (4 GiB): RAM, arenas, tables
/// </code>
/// </remarks>
public static class DefaultHost
{
    /// <summary>dom0's NIC.</summary>
    public static readonly Sbdf Nic = new(0, 0, 2, 0);

    /// <summary>dom0's NVMe controller (with one phantom function).</summary>
    public static readonly Sbdf Nvme = new(0, 0, 3, 0);

    /// <summary>dom0's GPU-like bulk copier, with a reserved region.</summary>
    public static readonly Sbdf Gpu = new(0, 0, 4, 0);

    /// <summary>The NIC passed through to the DomU.</summary>
    public static readonly Sbdf DomUNic = new(0, 1, 0, 0);

    /// <summary>The GPU's reserved region.</summary>
    public static readonly ReservedRegion GpuRmrr = new(new Dfn(0x7F000), 16, "gpu-rmrr");

    /// <summary>First frame of the heap.</summary>
    public const ulong HeapFirst = 0x100000;

    /// <summary>Frames in the heap.</summary>
    public const ulong HeapFrames = 0x100000;

    /// <summary>
    /// Builds the machine: topology, one include-all unit of <paramref name="format"/> with
    /// <paramref name="levels"/> levels, and memory for a heap of <paramref name="heapFrames"/> frames.
    /// </summary>
    public static Machine BuildMachine(PageTableFormat format = PageTableFormat.VtdSecondLevel, int levels = 4, ulong heapFrames = HeapFrames)
    {
        var memory = new MachineMemory(HeapFirst + heapFrames);
        var topology = new PciTopology();
        topology.AddSegment(0);
        topology.AddFunction(new PciFunction(Nic, PciFunctionKind.Endpoint, "Ethernet controller"));
        topology.AddFunction(new PciFunction(Nvme, PciFunctionKind.Endpoint, "Non-volatile memory controller", phantomFunctions: 1));
        topology.AddFunction(new PciFunction(Gpu, PciFunctionKind.Endpoint, "3D controller", reservedRegions: [GpuRmrr]));
        topology.AddBridge(new PciFunction(new Sbdf(0, 0, 0x1c, 0), PciFunctionKind.RootPort, "PCI bridge"), 1, 1);
        topology.AddFunction(new PciFunction(DomUNic, PciFunctionKind.Endpoint, "Ethernet controller"));
        topology.Freeze();
        return new Machine(memory, topology, [new IommuUnitDescription("dmar0", format, levels, 0, DeviceScope.IncludeAll)]);
    }

    /// <summary>Boots the default host: dom0 and the DomU created, the DomU's NIC assigned to it.</summary>
    /// <param name="options">Hypervisor knobs.</param>
    /// <param name="format">The IOMMU's page-table format.</param>
    /// <param name="levels">Its levels (4 or 5).</param>
    /// <param name="dom0Frames">dom0's RAM in frames (1 GiB by default); the heap grows to fit it.</param>
    public static Host Create(HostOptions? options = null, PageTableFormat format = PageTableFormat.VtdSecondLevel, int levels = 4, ulong dom0Frames = 262144)
    {
        var heapFrames = Math.Max(HeapFrames, dom0Frames + 262144);
        var host = new Host(BuildMachine(format, levels, heapFrames), new Mfn(HeapFirst), heapFrames, options);
        Check(host.CreateHardwareDomain(
            new DomainConfig("Domain-0", DomainKind.Pv, dom0Frames) { Mmio = [(0xF0000, 0x100, 0xF0000)] }, out _));
        Check(host.CreateDomain(new DomainConfig("domu", DomainKind.Pvh, 65536), out var domU));
        Check(host.MakeAssignable(DomUNic));
        Check(host.AssignDevice(DomUNic, domU!.Id));
        Check(host.SetDeviceModel(0, domU.Id));
        return host;
    }

    private static void Check(ToolstackResult result)
    {
        if (!result.IsOk)
        {
            throw new InvalidOperationException($"the default host does not boot: {result}");
        }
    }
}
