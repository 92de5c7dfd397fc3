using PvIommu.Hypervisor;
using PvIommu.Hypervisor.Domains;
using PvIommu.Platform.Iommu;
using PvIommu.Platform.Memory;
using PvIommu.Platform.Pci;
using PvIommu.Simulation.Scenarios;

namespace PvIommu.Simulation.Build;

/// <summary>The booted host of a scenario: the machine, Xen, and the domains by name.</summary>
internal sealed record BuiltHost(Host Host, IReadOnlyDictionary<string, Domain> Domains, IReadOnlyDictionary<Sbdf, PciSpec> Functions);

/// <summary>
/// Builds the machine a scenario describes and boots Xen on it, then does what the toolstack
/// does: create dom0 (which owns every device), create the DomUs, make their devices assignable
/// and assign them.
/// </summary>
/// <remarks>
/// <code>
///  machine frames   0x00000 ─ 0xfffff    the low 4 GiB: firmware, reserved regions, MMIO; not Xen's heap
///                   0x100000 ─ top       Xen's heap: domain RAM, arenas, page tables
/// </code>
/// </remarks>
internal static class HostBuilder
{
    public const ulong HeapFirst = 0x100000;

    public static BuiltHost Build(Scenario scenario)
    {
        var spec = scenario.Host;
        var functions = spec.Pci.ToDictionary(p => p.Address);
        var machine = BuildMachine(scenario, out var heapFrames);
        var host = Boot(scenario, machine, heapFrames);
        var domains = new Dictionary<string, Domain>(StringComparer.Ordinal);
        foreach (var d in scenario.Domains)
        {
            var config = new DomainConfig(d.Name, d.Type == DomainType.Pv ? DomainKind.Pv : DomainKind.Pvh, d.MemoryMiB * 256)
            {
                PvIommu = d.PvIommu switch
                {
                    PvIommuSetting.On => PvIommuPolicy.On,
                    PvIommuSetting.CapsOnly => PvIommuPolicy.CapsOnly,
                    PvIommuSetting.Off => PvIommuPolicy.Off,
                    _ => null,
                },
            };
            Domain? domain;
            var result = d.Hardware ? host.CreateHardwareDomain(config, out domain) : host.CreateDomain(config, out domain);
            Check(result, $"cannot create domain '{d.Name}'", d.Line, scenario.Source);
            domains[d.Name] = domain!;
            if (!d.Hardware)
            {
                foreach (var device in d.Pci)
                {
                    Check(host.MakeAssignable(device), $"cannot make {device} assignable", d.Line, scenario.Source);
                    Check(host.AssignDevice(device, domain!.Id), $"cannot assign {device} to '{d.Name}'", d.Line, scenario.Source);
                }
            }
        }

        return new BuiltHost(host, domains, functions);
    }

    private static Machine BuildMachine(Scenario scenario, out ulong heapFrames)
    {
        var spec = scenario.Host;
        var ramFrames = scenario.Domains.Aggregate(0UL, (sum, d) => sum + (d.MemoryMiB * 256));
        var needed = HeapFirst + ramFrames + (ulong)(scenario.Domains.Count * ((1 << scenario.Driver.ArenaOrder) + 4096)) + 65536;
        var frames = Math.Max(spec.MemoryBytes >> 12, needed);
        heapFrames = frames - HeapFirst;
        var topology = new PciTopology();
        foreach (var segment in spec.Pci.Select(p => p.Address.Segment).Concat(spec.Units.Select(u => u.Segment)).Distinct().Order())
        {
            topology.AddSegment(segment);
        }

        try
        {
            // Bridges first, parents before children (lower bus first), so every bus exists when used.
            foreach (var p in spec.Pci.Where(p => p.IsBridge).OrderBy(p => p.Address.Bus).ThenBy(p => p.Address))
            {
                var kind = p.Class == PciClass.RootPort ? PciFunctionKind.RootPort : PciFunctionKind.PcieToPciBridge;
                topology.AddBridge(new PciFunction(p.Address, kind, Describe(p.Class)), p.SecondaryBus, p.SubordinateBus);
            }

            foreach (var p in spec.Pci.Where(p => !p.IsBridge).OrderBy(p => p.Address))
            {
                var regions = spec.Reserved.Where(r => r.Devices.Contains(p.Address))
                    .Select(r => new ReservedRegion(new Dfn(r.StartFrame), r.Frames, r.Name));
                topology.AddFunction(new PciFunction(p.Address, PciFunctionKind.Endpoint, Describe(p.Class), p.PhantomFunctions, regions));
            }

            var units = spec.Units.Select(u => new IommuUnitDescription(
                u.Name,
                u.Format,
                u.Levels,
                u.Segment,
                u.IncludeAll ? DeviceScope.IncludeAll : DeviceScope.Of(u.Devices, u.Buses.Select(b => new BusRange(b.First, b.Last))))
            {
                FaultLogCapacity = u.FaultLogCapacity,
            });
            return new Machine(new MachineMemory(frames, spec.HugePages), topology, units);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            throw new ScenarioBindException(new ScenarioError(scenario.Source, 0, 0, $"[host]: the machine does not hold together: {e.Message}"));
        }
    }

    /// <summary>Boots Xen on the machine; a machine it cannot boot on (say, reserved regions too large for 4 KiB leaves) is a scenario error, not a crash.</summary>
    private static Host Boot(Scenario scenario, Machine machine, ulong heapFrames)
    {
        var spec = scenario.Host;
        try
        {
            return new Host(machine, new Mfn(HeapFirst), heapFrames, new HostOptions { PhysicalCpus = spec.Cpus, PreemptBatch = spec.PreemptBatch, Superpages = spec.Superpages });
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            throw new ScenarioBindException(new ScenarioError(scenario.Source, 0, 0, $"[host]: Xen cannot boot on this machine: {e.Message}"));
        }
    }

    private static string Describe(PciClass cls) => cls switch
    {
        PciClass.Nic => "Ethernet controller",
        PciClass.Nvme => "Non-volatile memory controller",
        PciClass.Gpu => "3D controller",
        PciClass.RootPort => "PCI bridge",
        PciClass.PcieToPci => "PCIe-to-PCI bridge",
        _ => "Unclassified device",
    };

    private static void Check(Hypervisor.Toolstack.ToolstackResult result, string what, int line, string file)
    {
        if (!result.IsOk)
        {
            throw new ScenarioBindException(new ScenarioError(file, line, 0, $"{what}: {result}"));
        }
    }
}
