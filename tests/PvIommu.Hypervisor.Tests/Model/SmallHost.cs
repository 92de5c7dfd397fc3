using PvIommu.Hypervisor.Domains;
using PvIommu.Hypervisor.Toolstack;
using PvIommu.Platform.Iommu;
using PvIommu.Platform.Memory;
using PvIommu.Platform.PageTables;
using PvIommu.Platform.Pci;

namespace PvIommu.Hypervisor.Tests.Model;

/// <summary>
/// The default host's machine (same topology, devices, reserved region and MMIO window) with
/// domains sized for tests that audit after every step: <see cref="Host.Audit"/> walks every
/// allocated frame and every mapping, so a 1 GiB dom0 costs a third of a second per audit,
/// while these hosts cost a few milliseconds. The DomU's NIC is assigned to it and dom0 is its
/// device model, as on the default host.
/// </summary>
internal static class SmallHost
{
    /// <summary>dom0's RAM: five whole 2 MiB runs and a tail, so context 0 holds both leaf sizes.</summary>
    public const ulong Dom0Frames = 3000;

    /// <summary>The DomU's RAM: gfn 0..2047, four 2 MiB runs.</summary>
    public const ulong DomUFrames = 2048;

    /// <summary>dom0's MMIO window (PV: gfn = mfn).</summary>
    public const ulong MmioFirst = 0xF0000;

    /// <summary>Frames in dom0's MMIO window.</summary>
    public const ulong MmioFrames = 0x100;

    /// <summary>The endpoints: dom0's three, then the DomU's NIC.</summary>
    public static readonly Sbdf[] Devices = [DefaultHost.Nic, DefaultHost.Nvme, DefaultHost.Gpu, DefaultHost.DomUNic];

    /// <summary>Boots the host: dom0 (PV, hardware domain) and the DomU (PVH) with its NIC.</summary>
    public static Host Create(
        ulong dom0Frames = Dom0Frames,
        ulong domUFrames = DomUFrames,
        HostOptions? options = null,
        ulong heapFrames = DefaultHost.HeapFrames)
    {
        var machine = BuildMachine(DefaultHost.HeapFirst + heapFrames);
        var host = new Host(machine, new Mfn(DefaultHost.HeapFirst), heapFrames, options ?? new HostOptions { PhysicalCpus = 4 });
        Check(host.CreateHardwareDomain(
            new DomainConfig("Domain-0", DomainKind.Pv, dom0Frames) { Mmio = [(MmioFirst, MmioFrames, MmioFirst)] }, out _));
        Check(host.CreateDomain(new DomainConfig("domu", DomainKind.Pvh, domUFrames), out var domU));
        Check(host.MakeAssignable(DefaultHost.DomUNic));
        Check(host.AssignDevice(DefaultHost.DomUNic, domU!.Id));
        Check(host.SetDeviceModel(0, domU.Id));
        return host;
    }

    /// <summary>The default host's topology and VT-d unit over <paramref name="frames"/> frames of memory.</summary>
    public static Machine BuildMachine(ulong frames)
    {
        var memory = new MachineMemory(frames);
        var topology = new PciTopology();
        topology.AddSegment(0);
        topology.AddFunction(new PciFunction(DefaultHost.Nic, PciFunctionKind.Endpoint, "Ethernet controller"));
        topology.AddFunction(new PciFunction(DefaultHost.Nvme, PciFunctionKind.Endpoint, "Non-volatile memory controller", phantomFunctions: 1));
        topology.AddFunction(new PciFunction(DefaultHost.Gpu, PciFunctionKind.Endpoint, "3D controller", reservedRegions: [DefaultHost.GpuRmrr]));
        topology.AddBridge(new PciFunction(new Sbdf(0, 0, 0x1c, 0), PciFunctionKind.RootPort, "PCI bridge"), 1, 1);
        topology.AddFunction(new PciFunction(DefaultHost.DomUNic, PciFunctionKind.Endpoint, "Ethernet controller"));
        topology.Freeze();
        return new Machine(memory, topology, [new IommuUnitDescription("dmar0", PageTableFormat.VtdSecondLevel, 4, 0, DeviceScope.IncludeAll)]);
    }

    private static void Check(ToolstackResult result)
    {
        if (!result.IsOk)
        {
            throw new InvalidOperationException($"the small host does not boot: {result}");
        }
    }
}
