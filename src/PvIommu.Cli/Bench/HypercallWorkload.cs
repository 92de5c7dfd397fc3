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
/// it the same way; cycles on one host until the JIT has settled, then five timed cycles.
/// </summary>
internal sealed class HypercallWorkload : IWorkload
{
    private const uint Batch = 256;

    public string Name => "hypercall";

    public string Description => "map_pages/unmap_pages of 256 pages through the in-process channel (PV dom0, 4 GiB)";

    public BenchResult Run(double scale)
    {
        var pages = Math.Max(65536UL, (ulong)(1048576 * scale)) / Batch * Batch;
        var bench = new Bench(pages);

        // Warm up on the same host until the JIT has settled (tiered compilation promotes hot
        // code after it has run a while), then time five cycles and take the medians.
        var warm = Stopwatch.StartNew();
        for (var i = 0; i < 3 || (i < 40 && warm.Elapsed < TimeSpan.FromSeconds(scale < 1 ? 0.2 : 1.5)); i++)
        {
            bench.Cycle();
        }

        var runs = Enumerable.Range(0, 5).Select(_ => bench.Cycle()).ToList();
        var median = runs.OrderBy(r => r.MapNs).ElementAt(2);
        return new BenchResult(Name)
            .Add("pages", (long)pages)
            .Add("batch", (long)Batch)
            .Add("map_ns_per_page", median.MapNs)
            .Add("unmap_ns_per_page", runs.OrderBy(r => r.UnmapNs).ElementAt(2).UnmapNs)
            .Add("calls", median.Calls)
            .Add("iotlb_invalidations", median.Invalidations);
    }

    /// <summary>One host: dom0 with a context, mapped and unmapped whole each cycle.</summary>
    private sealed class Bench
    {
        private readonly ulong _pages;
        private readonly Host _host;
        private readonly InProcessChannel _channel;
        private readonly byte[] _arg = new byte[Math.Max(MapPages.Size, UnmapPages.Size)];
        private readonly ushort _ctx;
        private readonly ulong _firstGfn;

        public Bench(ulong pages)
        {
            _pages = pages;
            _host = DefaultHost.Create(new HostOptions { PhysicalCpus = 1 }, dom0Frames: pages + 4096);
            var dom0 = _host.GetDomain(0);
            _channel = new InProcessChannel(_host, dom0);
            Expect(_channel.IommuOp((uint)SubOp.Init, Encode(new Init { MaxCtxNo = 16, ArenaOrder = 13 }, _arg.AsSpan(0, Init.Size))));
            Expect(_channel.IommuOp((uint)SubOp.AllocContext, Encode(new Alloc(), _arg.AsSpan(0, Alloc.Size))));
            _ctx = Alloc.Read(_arg).CtxNo;
            _firstGfn = dom0.P2m.Entries().First(e => e.Entry.Type == PvIommu.Hypervisor.Domains.P2mType.Ram).Gfn;
        }

        public Figures Cycle()
        {
            var before = _host.Counters;
            var clock = Stopwatch.StartNew();
            for (ulong b = 0; b < _pages; b += Batch)
            {
                var op = new MapPages
                {
                    CtxNo = _ctx,
                    Gfn = _firstGfn + b,
                    Dfn = 0x100000 + b,
                    MapFlags = MapFlags.Readable | MapFlags.Writeable,
                    Pgsize = PageSizes.Size4K,
                    NrPages = Batch,
                };
                Expect(_channel.IommuOp((uint)SubOp.MapPages, Encode(op, _arg.AsSpan(0, MapPages.Size))));
            }

            var mapNs = clock.Elapsed.TotalNanoseconds / _pages;
            var mapped = _host.Counters;
            clock.Restart();
            for (ulong b = 0; b < _pages; b += Batch)
            {
                var op = new UnmapPages { CtxNo = _ctx, Dfn = 0x100000 + b, Pgsize = PageSizes.Size4K, NrPages = Batch };
                Expect(_channel.IommuOp((uint)SubOp.UnmapPages, Encode(op, _arg.AsSpan(0, UnmapPages.Size))));
            }

            var unmapNs = clock.Elapsed.TotalNanoseconds / _pages;
            var after = _host.Counters;
            return new Figures(
                mapNs,
                unmapNs,
                after.Hypercalls - before.Hypercalls,
                mapped.IotlbInvalidations - before.IotlbInvalidations + (after.IotlbInvalidations - mapped.IotlbInvalidations));
        }
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
