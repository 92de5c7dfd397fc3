using PvIommu.Platform.PageTables;
using PvIommu.Platform.Pci;

namespace PvIommu.Simulation.Scenarios;

/// <summary>Turns a TOML tree into a <see cref="Scenario"/>, checking every value and every cross-reference.</summary>
internal static partial class ScenarioBinder
{
    public static Scenario Bind(TomlTableNode root, string file)
    {
        var top = new TableReader(file, root, "the top level");
        var name = top.String("name", Path.GetFileNameWithoutExtension(file).Trim('<', '>'));
        var description = top.String("description", string.Empty);
        var seed = top.Integer("seed", 1, 0, long.MaxValue);
        var duration = top.Duration("duration", 50_000_000, 1_000, 3_600_000_000_000);
        var epoch = top.Duration("epoch", Math.Min(1_000_000, duration), 1_000, duration);
        var detail = top.Raw("detail") is TomlValueNode { Value: string auto } && auto.Trim() == "auto" ? 0 : top.Fraction("detail", 1.0);
        if (detail <= 0 && top.Raw("detail") is TomlValueNode { Value: not string })
        {
            throw top.Fail(top.Raw("detail")!, "the top level: 'detail' must be \"auto\" or a share above 0 and at most 1 (of epochs run in full)");
        }

        var hostReader = top.SubTable("host", "host") ?? throw top.Fail("missing the [host] section (memory, [[host.iommu]], [[host.pci]])");
        var host = BindHost(hostReader);
        var driver = top.SubTable("driver", "driver") is { } d ? BindDriver(d) : new DriverSpec();
        var cost = top.SubTable("cost", "cost") is { } c ? BindCost(c) : new CostModel();
        var domains = top.Tables("domain", "domain").Select(BindDomain).ToList();
        var workloads = top.Tables("workload", "workload").Select(BindWorkload).ToList();
        top.Done();

        var scenario = new Scenario
        {
            Name = name,
            Description = description,
            Source = file,
            Seed = (ulong)seed,
            DurationNs = duration,
            EpochNs = epoch,
            Detail = detail,
            Host = host,
            Driver = driver,
            Cost = cost,
            Domains = [.. domains.OrderByDescending(x => x.Hardware)],
            Workloads = workloads,
        };
        ScenarioChecks.Check(scenario, root, file);
        return scenario;
    }

    private static HostSpec BindHost(TableReader r)
    {
        var memory = r.Size("memory", 8UL << 30, 64UL << 20, 1UL << 46);
        var cpus = (int)r.Integer("cpus", 4, 1, 1024);
        var preempt = (int)r.Integer("preempt_batch", 256, 1, 1 << 20);
        var superpages = r.Bool("superpages", true);
        var hugePages = r.Bool("huge_pages", false);
        var units = r.Tables("iommu", "host.iommu").Select(BindUnit).ToList();
        var pci = r.Tables("pci", "host.pci").Select(BindPci).ToList();
        var reserved = r.Tables("reserved", "host.reserved").Select(BindReserved).ToList();
        r.Done();
        if (units.Count == 0)
        {
            throw r.Fail("[host]: expected at least one [[host.iommu]] unit");
        }

        return new HostSpec { MemoryBytes = memory, Cpus = cpus, PreemptBatch = preempt, Superpages = superpages, HugePages = hugePages, Units = units, Pci = pci, Reserved = reserved };
    }

    private static IommuSpec BindUnit(TableReader r)
    {
        var name = r.RequiredString("name", "a unit name such as \"dmar0\"");
        var format = r.Choice("format", PageTableFormat.VtdSecondLevel, ("vt-d", PageTableFormat.VtdSecondLevel), ("vtd", PageTableFormat.VtdSecondLevel), ("amd-v1", PageTableFormat.AmdV1), ("amd", PageTableFormat.AmdV1));
        var levels = (int)r.Integer("levels", 4, 4, 5);
        var segment = (ushort)r.Integer("segment", 0, 0, ushort.MaxValue);
        var faultLog = (int)r.Integer("fault_log", 256, 1, 65536);
        var devices = new List<Sbdf>();
        var buses = new List<(byte, byte)>();
        var includeAll = false;
        switch (r.Required("scope", "\"include-all\" or a list such as [\"00:02.0\", \"bus 01-02\"]"))
        {
            case TomlValueNode { Value: string s } when s.Trim() == "include-all":
                includeAll = true;
                break;
            case TomlArrayNode { OfTables: false, Items.Count: > 0 } list:
                foreach (var item in list.Items)
                {
                    if (item is TomlValueNode { Value: string text } && text.Trim().StartsWith("bus ", StringComparison.Ordinal))
                    {
                        buses.Add(BusRange(r, item, text.Trim()[4..]));
                    }
                    else
                    {
                        devices.Add(r.AsDevice(item, "scope"));
                    }
                }

                break;
            case var n:
                throw r.Fail(n, $"{r.Where}: 'scope' must be \"include-all\" or a non-empty list such as [\"00:02.0\", \"bus 01-02\"], not {n.Describe()}");
        }

        r.Done();
        return new IommuSpec(name, format, levels, segment, includeAll, devices, buses) { FaultLogCapacity = faultLog };
    }

    private static PciSpec BindPci(TableReader r)
    {
        var address = r.Device("bdf");
        var cls = r.Choice("class", PciClass.Other, ("nic", PciClass.Nic), ("nvme", PciClass.Nvme), ("gpu", PciClass.Gpu), ("other", PciClass.Other), ("root-port", PciClass.RootPort), ("pcie-to-pci", PciClass.PcieToPci));
        var phantom = (int)r.Integer("phantom_functions", 0, 0, 7);
        byte secondary = 0, subordinate = 0;
        if (cls is PciClass.RootPort or PciClass.PcieToPci)
        {
            var node = r.Required("buses", "the bus range behind the bridge, such as \"01-02\"");
            (secondary, subordinate) = node is TomlValueNode { Value: string s } ? BusRange(r, node, s)
                : throw r.Fail(node, $"{r.Where}: 'buses' must be a bus range such as \"01-02\", not {node.Describe()}");
        }

        r.Done();
        return new PciSpec(address, cls, phantom, secondary, subordinate);
    }

    private static ReservedSpec BindReserved(TableReader r)
    {
        var name = r.RequiredString("name", "a region name such as \"gpu-rmrr\"");
        var start = r.Integer("start", 0, 0, (1L << 40) - 1);
        if (r.Raw("start") is null)
        {
            throw r.Fail($"{r.Where}: missing 'start' (the first machine frame, such as 0x7f000)");
        }

        var frames = r.Integer("frames", 1, 1, 1 << 20);
        var devices = r.Devices("devices");
        r.Done();
        return new ReservedSpec(name, (ulong)start, (ulong)frames, devices);
    }

    private static DriverSpec BindDriver(TableReader r)
    {
        var spec = new DriverSpec
        {
            Policy = r.Choice("policy", UnmapMode.Strict, ("strict", UnmapMode.Strict), ("deferred", UnmapMode.Deferred), ("lazy", UnmapMode.Deferred)),
            Batch = (int)r.Integer("batch", 256, 1, 65536),
            FlushTimeoutNs = r.Duration("flush_timeout", 10_000_000, 1_000, 10_000_000_000),
            Superpages = r.Bool("superpages", true),
            BatchRuns = r.Bool("batch_runs", true),
            ArenaOrder = (int)r.Integer("arena_order", 12, 1, 24),
            MaxContexts = (int)r.Integer("max_contexts", 128, 1, 4096),
        };
        r.Done();
        return spec;
    }

    private static CostModel BindCost(TableReader r)
    {
        var defaults = new CostModel();
        var cost = new CostModel
        {
            HypercallNs = r.DurationNs("hypercall", defaults.HypercallNs),
            PteWriteNs = r.DurationNs("pte_write", defaults.PteWriteNs),
            WalkStepNs = r.DurationNs("walk_step", defaults.WalkStepNs),
            IotlbInvalidationNs = r.DurationNs("iotlb_invalidation", defaults.IotlbInvalidationNs),
            DeviceBytesPerSecond = r.ByteRate("device_transfer", defaults.DeviceBytesPerSecond),
        };
        r.Done();
        return cost;
    }

    private static DomainSpec BindDomain(TableReader r)
    {
        var name = r.RequiredString("name", "the domain's name, as in xl.cfg");
        var hardware = r.Bool("hardware", false);
        var type = r.Choice("type", hardware ? DomainType.Pv : DomainType.Pvh, ("pv", DomainType.Pv), ("pvh", DomainType.Pvh), ("hvm", DomainType.Pvh));
        var memory = (ulong)r.Integer("memory", 512, 16, 1 << 22);
        var pci = r.Devices("pci");
        var pvIommu = r.Choice("pv_iommu", PvIommuSetting.Default, ("on", PvIommuSetting.On), ("caps-only", PvIommuSetting.CapsOnly), ("off", PvIommuSetting.Off));
        r.Done();
        return new DomainSpec(name, hardware, type, memory, pci, pvIommu, r.Table.Line);
    }

    private static (byte First, byte Last) BusRange(TableReader r, TomlNode node, string text)
    {
        var parts = text.Trim().Split('-', StringSplitOptions.TrimEntries);
        if (parts.Length is 1 or 2
            && byte.TryParse(parts[0], System.Globalization.NumberStyles.HexNumber, null, out var first)
            && byte.TryParse(parts[^1], System.Globalization.NumberStyles.HexNumber, null, out var last)
            && first <= last)
        {
            return (first, last);
        }

        throw r.Fail(node, $"{r.Where}: expected a bus range in hexadecimal such as \"01\" or \"01-02\", not \"{text}\"");
    }
}
