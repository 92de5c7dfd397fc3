using System.Diagnostics;
using PvIommu.Platform.Iommu;
using PvIommu.Platform.Memory;
using PvIommu.Platform.PageTables;
using PvIommu.Platform.Pci;

namespace PvIommu.Cli.Bench;

/// <summary>
/// <c>translate</c>: device DMA translations through the IOMMU (routing, context cache, IOTLB,
/// walk): first a hot set of 256 pages that fits the IOTLB (hits), then random addresses over
/// 4 GiB of 4 KiB mappings (mostly misses: a walk of the PTEs in machine memory and a fill).
/// </summary>
internal sealed class TranslateWorkload : IWorkload
{
    private const ulong MappedFrames = 1UL << 20;
    private const ulong BaseDfn = 0x100000;
    private const ulong BaseMfn = 0x200000;
    private const ulong PoolMfn = 0x400000;
    private const int HotPages = 256;
    private static readonly Sbdf _device = new(0, 0, 2, 0);

    public string Name => "translate";

    public string Description => "IOTLB-hit translations per second, and the cost of a miss (walk + fill)";

    public BenchResult Run(double scale)
    {
        var machine = BuildMachine(out var frames);
        var hits = Math.Max(1_000_000L, (long)(50_000_000 * scale));
        var misses = Math.Max(100_000L, (long)(2_000_000 * scale));
        Hits(machine, hits / 10);
        var rates = new[] { Hits(machine, hits), Hits(machine, hits), Hits(machine, hits) };
        Misses(machine, frames, misses / 10);
        var missNs = new[] { Misses(machine, frames, misses), Misses(machine, frames, misses), Misses(machine, frames, misses) };
        return new BenchResult(Name)
            .Add("mapped_pages", (long)frames)
            .Add("hot_pages", HotPages)
            .Add("hit_translations_per_s", rates.Order().ElementAt(1))
            .Add("miss_ns", missNs.Order().ElementAt(1));
    }

    private static double Hits(Machine machine, long count)
    {
        var clock = Stopwatch.StartNew();
        ulong sum = 0;
        for (long i = 0; i < count; i++)
        {
            var r = machine.Translate(_device, (BaseDfn + (ulong)(i & (HotPages - 1))) << 12, DmaAccess.Read);
            sum += r.HostAddress;
        }

        var seconds = clock.Elapsed.TotalSeconds;
        GC.KeepAlive(sum);
        return count / seconds;
    }

    private static double Misses(Machine machine, ulong frames, long count)
    {
        var rng = new Xorshift64(Xorshift64.RadixSeed);
        var clock = Stopwatch.StartNew();
        ulong sum = 0;
        for (long i = 0; i < count; i++)
        {
            var r = machine.Translate(_device, (BaseDfn + (rng.Next() % frames)) << 12, DmaAccess.Write);
            sum += r.HostAddress;
        }

        var ns = clock.Elapsed.TotalNanoseconds / count;
        GC.KeepAlive(sum);
        return ns;
    }

    private static Machine BuildMachine(out ulong frames)
    {
        frames = MappedFrames;
        var memory = new MachineMemory(PoolMfn + 4096);
        var topology = new PciTopology();
        topology.AddSegment(0);
        topology.AddFunction(new PciFunction(_device, PciFunctionKind.Endpoint, "Ethernet controller"));
        var machine = new Machine(memory, topology, [new IommuUnitDescription("dmar0", PageTableFormat.VtdSecondLevel, 4, 0, DeviceScope.IncludeAll)]);
        var pool = new TablePool(memory, new Mfn(PoolMfn), 4096);
        if (!PageTable.TryCreate<VtdSecondLevel>(pool, 4, out var table)
            || table.Map(BaseDfn, BaseMfn, frames, PteAccess.ReadWrite, 1, out _) != PtStatus.Ok)
        {
            throw new InvalidOperationException("cannot build the translate workload's tables");
        }

        machine.SetDeviceContext(_device, DeviceContext.Translated(1, table.Root, 4));
        machine.InvalidateDeviceContext(_device);
        return machine;
    }
}
