using System.Diagnostics;
using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Hypervisor;
using PvIommu.Hypervisor.Domains;
using PvIommu.Hypervisor.Toolstack;
using PvIommu.Server;
using PvIommu.Server.Client;

namespace PvIommu.Cli.Bench;

/// <summary>
/// <c>socket</c>: <c>pviommu serve</c> on a Unix socket and a dom0 client in this process:
/// round trips of noop, of a 1-page map_pages and unmap_pages, then map_pages calls of 256
/// pages. Each round trip is timed alone; the figures are percentiles in microseconds.
/// </summary>
internal sealed class SocketWorkload : IWorkload
{
    private const uint Batch = 256;
    private const ulong Dfn = 0x100000;

    public string Name => "socket";

    public string Description => "round trips over a Unix socket: noop, 1-page map and unmap, 256-page map_pages (PV dom0)";

    public BenchResult Run(double scale)
    {
        var noops = Math.Max(2000, (int)(50000 * scale));
        var singles = Math.Max(1000, (int)(20000 * scale));
        var pages = Math.Max(65536UL, (ulong)(262144 * scale)) / Batch * Batch;
        var host = DefaultHost.Create(new HostOptions { PhysicalCpus = 2 }, dom0Frames: pages + 4096);
        var folder = Directory.CreateTempSubdirectory("pviommu-bench-");
        var server = new PvIommuServer(host, new ServerOptions { Endpoint = new ServerEndpoint.UnixSocket(Path.Combine(folder.FullName, "s")) });
        server.Start();
        try
        {
            using var client = WireClient.Connect(SocketClientTransport.Connect(server.Endpoint), 0);
            var gfn = host.GetDomain(0).P2m.Entries().First(e => e.Entry.Type == P2mType.Ram).Gfn;
            Expect(client.IommuOp((uint)SubOp.Init, Encode(new Init { MaxCtxNo = 4, ArenaOrder = 12 }, Init.Size)));
            var alloc = Encode(new Alloc(), Alloc.Size);
            Expect(client.IommuOp((uint)SubOp.AllocContext, alloc));
            var ctx = Alloc.Read(alloc).CtxNo;

            Times(client, noops / 4, _ => Expect(client.IommuOp((uint)SubOp.Noop, [])));
            var noop = Times(client, noops, _ => Expect(client.IommuOp((uint)SubOp.Noop, [])));
            var map = new double[singles];
            var unmap = new double[singles];
            for (var i = 0; i < singles; i++)
            {
                var start = Stopwatch.GetTimestamp();
                Expect(client.IommuOp((uint)SubOp.MapPages, Encode(Map(ctx, gfn + (ulong)(i % 64), Dfn, 1), MapPages.Size)));
                var mid = Stopwatch.GetTimestamp();
                Expect(client.IommuOp((uint)SubOp.UnmapPages, Encode(Unmap(ctx, Dfn, 1), UnmapPages.Size)));
                map[i] = Stopwatch.GetElapsedTime(start, mid).TotalMicroseconds;
                unmap[i] = Stopwatch.GetElapsedTime(mid).TotalMicroseconds;
            }

            var clock = Stopwatch.StartNew();
            for (ulong b = 0; b < pages; b += Batch)
            {
                Expect(client.IommuOp((uint)SubOp.MapPages, Encode(Map(ctx, gfn + b, Dfn + b, Batch), MapPages.Size)));
            }

            var pagesPerSecond = pages / clock.Elapsed.TotalSeconds;
            for (ulong b = 0; b < pages; b += Batch)
            {
                Expect(client.IommuOp((uint)SubOp.UnmapPages, Encode(Unmap(ctx, Dfn + b, Batch), UnmapPages.Size)));
            }

            return new BenchResult(Name)
                .Add("noop_calls", noops)
                .Add("map1_calls", singles)
                .Add("pages", (long)pages)
                .Add("batch", (long)Batch)
                .Add("noop_us_p50", Percentile(noop, 0.50))
                .Add("noop_us_p99", Percentile(noop, 0.99))
                .Add("map1_us_p50", Percentile(map, 0.50))
                .Add("unmap1_us_p50", Percentile(unmap, 0.50))
                .Add("batch_pages_per_s", pagesPerSecond);
        }
        finally
        {
            server.DisposeAsync().AsTask().GetAwaiter().GetResult();
            folder.Delete(recursive: true);
        }
    }

    private static double[] Times(WireClient client, int count, Action<int> call)
    {
        var times = new double[count];
        for (var i = 0; i < count; i++)
        {
            var start = Stopwatch.GetTimestamp();
            call(i);
            times[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }

        return times;
    }

    private static double Percentile(double[] values, double p)
    {
        var sorted = values.Order().ToArray();
        return sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];
    }

    private static MapPages Map(ushort ctx, ulong gfn, ulong dfn, uint pages) => new()
    {
        CtxNo = ctx,
        Gfn = gfn,
        Dfn = dfn,
        NrPages = pages,
        MapFlags = MapFlags.Readable | MapFlags.Writeable,
        Pgsize = PageSizes.Size4K,
    };

    private static UnmapPages Unmap(ushort ctx, ulong dfn, uint pages) => new() { CtxNo = ctx, Dfn = dfn, NrPages = pages, Pgsize = PageSizes.Size4K };

    private static byte[] Encode<T>(T value, int size)
        where T : struct, IAbiStruct<T>
    {
        var bytes = new byte[size];
        value.Write(bytes);
        return bytes;
    }

    private static void Expect(int ret)
    {
        if (ret != 0)
        {
            throw new InvalidOperationException($"call over the socket failed: {XenErrnos.Describe(ret)}");
        }
    }
}
