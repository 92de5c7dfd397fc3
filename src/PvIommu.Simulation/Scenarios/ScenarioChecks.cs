using PvIommu.Platform.Pci;

namespace PvIommu.Simulation.Scenarios;

/// <summary>Cross-references a bound scenario: names unique, devices known, each device in one domain, each workload on a driven device.</summary>
internal static class ScenarioChecks
{
    public static void Check(Scenario s, TomlTableNode root, string file)
    {
        ScenarioBindException Fail(int line, string message) => new(new ScenarioError(file, line, 0, message));

        var functions = new Dictionary<Sbdf, PciSpec>();
        foreach (var pci in s.Host.Pci)
        {
            if (!functions.TryAdd(pci.Address, pci))
            {
                throw Fail(LineOf(root, "host", "pci"), $"[[host.pci]]: {pci.Address} is described twice");
            }
        }

        var unitNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var unit in s.Host.Units)
        {
            if (!unitNames.Add(unit.Name))
            {
                throw Fail(LineOf(root, "host", "iommu"), $"[[host.iommu]]: two units are named '{unit.Name}'");
            }

            foreach (var device in unit.Devices.Where(d => !functions.ContainsKey(d)))
            {
                throw Fail(LineOf(root, "host", "iommu"), $"[[host.iommu]] '{unit.Name}': scope names {device}, which no [[host.pci]] describes");
            }
        }

        foreach (var region in s.Host.Reserved)
        {
            foreach (var device in region.Devices.Where(d => !functions.TryGetValue(d, out var f) || f.IsBridge))
            {
                throw Fail(LineOf(root, "host", "reserved"), $"[[host.reserved]] '{region.Name}': {device} is not a device of [[host.pci]]");
            }
        }

        var hardware = s.Domains.Where(d => d.Hardware).ToList();
        if (hardware.Count != 1)
        {
            throw Fail(hardware.Count > 1 ? hardware[1].Line : LineOf(root, "domain"),
                hardware.Count > 1 ? "[[domain]]: only one domain may have hardware = true (dom0)"
                    : "expected one [[domain]] with hardware = true (dom0, which owns every device at boot)");
        }

        if (hardware[0].Type != DomainType.Pv)
        {
            throw Fail(hardware[0].Line, "[[domain]]: the hardware domain is PV here (type = \"pv\")");
        }

        var owner = new Dictionary<Sbdf, DomainSpec>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var domain in s.Domains)
        {
            if (!names.Add(domain.Name))
            {
                throw Fail(domain.Line, $"[[domain]]: two domains are named '{domain.Name}'");
            }

            foreach (var device in domain.Pci)
            {
                if (!functions.TryGetValue(device, out var f) || f.IsBridge)
                {
                    throw Fail(domain.Line, $"[[domain]] '{domain.Name}': pci lists {device}, which is not a device of [[host.pci]]");
                }

                if (!owner.TryAdd(device, domain))
                {
                    throw Fail(domain.Line, $"[[domain]] '{domain.Name}': {device} is already in the pci list of '{owner[device].Name}'");
                }
            }
        }

        var busy = new HashSet<Sbdf>();
        foreach (var w in s.Workloads)
        {
            if (!owner.TryGetValue(w.Device, out var driver))
            {
                throw Fail(w.Line, $"[[workload]] {w.Kind}: device {w.Device} is in no domain's pci list");
            }

            if (!busy.Add(w.Device))
            {
                throw Fail(w.Line, $"[[workload]] {w.Kind}: device {w.Device} already has a workload");
            }

            if (w is NicRxSpec nic && nic.FrameBytes > nic.BufferBytes)
            {
                throw Fail(w.Line, $"[[workload]] nic-rx: frame ({nic.FrameBytes} B) must fit the receive buffer ({nic.BufferBytes} B)");
            }

            if (w is BulkSpec bulk && (bulk.TransferBytes > bulk.BufferBytes / 2 || bulk.BufferBytes % 4096 != 0 || bulk.Iova % 4096 != 0))
            {
                throw Fail(w.Line, "[[workload]] bulk: 'transfer' must be at most half of 'buffer', and 'buffer' and 'iova' 4 KiB multiples");
            }

            if (w is RogueSpec && !driver.Hardware)
            {
                throw Fail(w.Line, "[[workload]] rogue: the rogue device is a device of the hardware domain");
            }
        }
    }

    private static int LineOf(TomlTableNode root, params string[] path)
    {
        TomlNode? node = root;
        foreach (var part in path)
        {
            node = node switch
            {
                TomlTableNode t => t.Find(part),
                TomlArrayNode { Items.Count: > 0 } a => (a.Items[0] as TomlTableNode)?.Find(part),
                _ => null,
            };
        }

        return node switch
        {
            TomlArrayNode { Items.Count: > 0 } a => a.Items[0].Line,
            { } n => n.Line,
            _ => 0,
        };
    }
}
