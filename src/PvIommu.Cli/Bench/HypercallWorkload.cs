using System.Diagnostics;
using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Hypervisor;
using PvIommu.Hypervisor.Calls;
using PvIommu.Hypervisor.Toolstack;

namespace PvIommu.Cli.Bench;

/// <summary>
/// <c>hypercall</c>: the whole in-process path. A PV dom0 inits and allocates a context, then
/// maps 4 GiB of its RAM with map_pages calls of 256 pages, encoded as ABI bytes through its
/// channel (decode, checks, p2m, page references, PTEs, invalidation, write-back), then unmaps
/// it the same way.
/// </summary>
internal sealed class HypercallWorkload : IWorkload
{
    private const uint Batch = 256;

    public string Name => "hypercall";

    public string Description => "map_pages/unmap_pages of 256 pages through the in-process channel (PV dom0, 4 GiB)";

    public BenchResult Run(double scale)
    {
        var pages = Math.Max(65536UL, (ulong)(1048576 * scale)) / Batch * Batch;
        Measure(pages / 4);
        var runs = new[] { Measure(pages), Measure(pages), Measure(pages) };
        var median = runs.OrderBy(r => r.MapNs).ElementAt(1);
        return new BenchResult(Name)
            .Add("pages", (long)pages)
            .Add("batch", (long)Batch)
            .Add("map_ns_per_page", median.MapNs)
            .Add("unmap_ns_per_page", runs.OrderBy(r => r.UnmapNs).ElementAt(1).UnmapNs)
            .Add("calls", median.Calls)
            .Add("iotlb_invalidations", median.Invalidations);
    }

    private static Figures Measure(ulong pages)
    {
        var host = DefaultHost.Create(new HostOptions { PhysicalCpus = 1 }, dom0Frames: pages + 4096);
        var dom0 = host.GetDomain(0);
        var channel = new InProcessChannel(host, dom0);
        var arg = new byte[Math.Max(MapPages.Size, UnmapPages.Size)];
        Expect(channel.IommuOp((uint)SubOp.Init, Encode(new Init { MaxCtxNo = 16, ArenaOrder = 13 }, arg.AsSpan(0, Init.Size))));
        Expect(channel.IommuOp((uint)SubOp.AllocContext, Encode(new Alloc(), arg.AsSpan(0, Alloc.Size))));
        var ctx = Alloc.Read(arg).CtxNo;
        var firstGfn = dom0.P2m.Entries().First(e => e.Entry.Type == PvIommu.Hypervisor.Domains.P2mType.Ram).Gfn;
        var before = host.Counters;
        var clock = Stopwatch.StartNew();
        for (ulong b = 0; b < pages; b += Batch)
        {
            var op = new MapPages
            {
                CtxNo = ctx,
                Gfn = firstGfn + b,
                Dfn = 0x100000 + b,
                MapFlags = MapFlags.Readable | MapFlags.Writeable,
                Pgsize = PageSizes.Size4K,
                NrPages = Batch,
            };
            Expect(channel.IommuOp((uint)SubOp.MapPages, Encode(op, arg.AsSpan(0, MapPages.Size))));
        }

        var mapNs = clock.Elapsed.TotalNanoseconds / pages;
        var mapped = host.Counters;
        clock.Restart();
        for (ulong b = 0; b < pages; b += Batch)
        {
            var op = new UnmapPages { CtxNo = ctx, Dfn = 0x100000 + b, Pgsize = PageSizes.Size4K, NrPages = Batch };
            Expect(channel.IommuOp((uint)SubOp.UnmapPages, Encode(op, arg.AsSpan(0, UnmapPages.Size))));
        }

        var unmapNs = clock.Elapsed.TotalNanoseconds / pages;
        var after = host.Counters;
        return new Figures(
            mapNs,
            unmapNs,
            after.Hypercalls - before.Hypercalls,
            mapped.IotlbInvalidations - before.IotlbInvalidations + (after.IotlbInvalidations - mapped.IotlbInvalidations));
    }

    private static Span<byte> Encode<T>(T value, Span<byte> bytes)
        where T : struct, IAbiStruct<T>
    {
        value.Write(bytes);
        return bytes;
    }

    private static void Expect(int ret)
    {
        if (ret != 0)
        {
            throw new InvalidOperationException($"hypercall failed: {XenErrnos.Describe(ret)}");
        }
    }

    private readonly record struct Figures(double MapNs, double UnmapNs, long Calls, long Invalidations);
}
