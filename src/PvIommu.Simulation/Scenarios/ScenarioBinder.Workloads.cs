using PvIommu.Devices.Network;

namespace PvIommu.Simulation.Scenarios;

/// <summary>The <c>[[workload]]</c> sections, one binder per kind.</summary>
internal static partial class ScenarioBinder
{
    private static readonly string[] _kinds = ["nic-rx", "nvme", "bulk", "rogue"];

    private static WorkloadSpec BindWorkload(TableReader r)
    {
        var kindNode = r.Required("kind", "one of " + string.Join(", ", _kinds.Select(k => $"\"{k}\"")));
        var kind = kindNode is TomlValueNode { Value: string s } ? s.Trim() : string.Empty;
        var device = r.Device("device");
        var line = r.Table.Line;
        var policy = r.Raw("policy") is null ? (UnmapMode?)null
            : r.Choice("policy", UnmapMode.Strict, ("strict", UnmapMode.Strict), ("deferred", UnmapMode.Deferred), ("lazy", UnmapMode.Deferred));
        WorkloadSpec spec = kind switch
        {
            "nic-rx" => new NicRxSpec(device, line)
            {
                LineRateBitsPerSecond = r.BitRate("line_rate", 10e9),
                FrameBytes = (int)r.Size("frame", 1500, 60, 4096),
                Ring = (int)r.Integer("ring", 256, 8, 65536),
                Napi = (int)r.Integer("napi", 64, 1, 4096),
                Recycle = r.Fraction("recycle", 0.8),
                BufferBytes = (int)r.Size("buffer", 4096, 256, 4096),
                WriteBack = (int)r.Integer("write_back", 1, 1, Nic.RxDescriptorCache),
            },
            "nvme" => new NvmeSpec(device, line)
            {
                Iops = r.Number("iops", 100_000, 1, 1e8),
                QueueDepth = (int)r.Integer("queue_depth", 32, 1, 4095),
                BlockSizes = BlockSizes(r),
                ReadFraction = r.Fraction("read", 0.7),
            },
            "bulk" => new BulkSpec(device, line)
            {
                Driver = r.Choice("driver", BulkDriver.Vfio, ("vfio", BulkDriver.Vfio), ("dma-api", BulkDriver.DmaApi)),
                BufferBytes = r.Size("buffer", 16UL << 20, 4096, 1UL << 36),
                TransferBytes = r.Size("transfer", 1UL << 20, 4096, 1UL << 32),
                BytesPerSecond = r.ByteRate("rate", 4e9),
                ChunkBytes = (int)r.Size("chunk", 64 * 1024, 4096, 4 << 20),
                Iova = r.Size("iova", 1UL << 32, 0),
            },
            "rogue" => new RogueSpec(device, line)
            {
                AttemptsPerSecond = r.Number("attempts_per_second", 20_000, 1, 1e9),
                Targets = RogueTargetList(r),
            },
            _ => throw r.Fail(kindNode, $"{r.Where}: 'kind' must be one of {string.Join(", ", _kinds.Select(k => $"\"{k}\""))}, not {kindNode.Describe()}"),
        };
        r.Done();
        return spec with { Policy = policy };
    }

    private static List<(int Bytes, double Weight)> BlockSizes(TableReader r)
    {
        var node = r.Raw("block_sizes");
        if (node is null)
        {
            return [(4096, 1)];
        }

        if (node is not TomlTableNode { Entries.Count: > 0 } table)
        {
            throw r.Fail(node, $"{r.Where}: 'block_sizes' must be a table of sizes and weights such as {{ \"4KiB\" = 70, \"64KiB\" = 30 }}, not {node.Describe()}");
        }

        var mix = new List<(int, double)>();
        foreach (var (key, value) in table.Entries)
        {
            if (!Units.TryParseSize(key, out var bytes) || bytes < 512 || bytes > (2 << 20) || bytes % 512 != 0)
            {
                throw r.Fail(value, $"{r.Where}: block size '{key}' must be a multiple of 512 bytes from 512B to 2MiB, such as \"4KiB\"");
            }

            var weight = value is TomlValueNode { Value: long l } ? l : value is TomlValueNode { Value: double d } ? d : -1;
            if (weight <= 0 || !double.IsFinite(weight))
            {
                throw r.Fail(value, $"{r.Where}: the weight of block size '{key}' must be a positive number, not {value.Describe()}");
            }

            mix.Add(((int)bytes, weight));
        }

        return mix;
    }

    private static RogueTargets RogueTargetList(TableReader r)
    {
        var node = r.Raw("targets");
        if (node is null)
        {
            return RogueTargets.All;
        }

        (string Name, RogueTargets Value)[] names =
        [
            ("other-domain", RogueTargets.OtherDomain), ("hypervisor", RogueTargets.Hypervisor),
            ("freed-page", RogueTargets.FreedPage), ("unmapped", RogueTargets.Unmapped), ("all", RogueTargets.All),
        ];
        var expected = $"a list of {string.Join(", ", names.Select(n => $"\"{n.Name}\""))}";
        if (node is not TomlArrayNode { OfTables: false, Items.Count: > 0 } list)
        {
            throw r.Fail(node, $"{r.Where}: 'targets' must be {expected}, not {node.Describe()}");
        }

        var targets = RogueTargets.None;
        foreach (var item in list.Items)
        {
            var match = names.FirstOrDefault(n => item is TomlValueNode { Value: string s } && s.Trim() == n.Name);
            targets |= match.Name is null ? throw r.Fail(item, $"{r.Where}: 'targets' must be {expected}, not {item.Describe()}") : match.Value;
        }

        return targets;
    }
}
