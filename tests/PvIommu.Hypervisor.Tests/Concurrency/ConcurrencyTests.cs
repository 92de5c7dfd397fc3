using System.Collections.Concurrent;
using PvIommu.Abi;
using PvIommu.Hypervisor.Domains;
using PvIommu.Hypervisor.Tests.Model;
using PvIommu.Hypervisor.Tests.Support;
using PvIommu.Platform.PageTables;

namespace PvIommu.Hypervisor.Tests.Concurrency;

/// <summary>
/// Many threads acting as vCPUs of dom0 and of a DomU with <c>pv_iommu = "on"</c> (some of them
/// dom0 vCPUs driving the DomU through remote_cmd), on shared and private contexts, with the
/// toolstack ballooning the DomU beside them. A domain's calls serialise on its lock, so the
/// final state must equal some serial order of the calls; the tests check that by construction.
/// </summary>
public class ConcurrencyTests
{
    private static readonly TimeSpan _deadline = TimeSpan.FromSeconds(120);

    /// <summary>
    /// Each vCPU owns a dfn window of its domain's shared context: every result it sees, and the
    /// window's final content, is what its own serial replay predicts. No deadlock, no exception,
    /// no torn struct; the identity context stays in sync under ballooning; the books balance.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Vcpus_DisjointWindows_EachSeesItsOwnSerialReplay(int seed)
    {
        var host = SmallHost.Create(options: new HostOptions { PhysicalCpus = 2 });
        Assert.True(host.SetPvIommu(1, PvIommuPolicy.On).IsOk);
        var dom0 = host.Dom0();
        var domU = host.DomU();
        Assert.Equal(0, dom0.Init(64, 10));
        Assert.Equal(0, domU.Init(64, 10));
        var shared0 = dom0.Alloc().Ctx;
        var sharedU = domU.Alloc().Ctx;
        var (iret, identity) = domU.Alloc(AllocFlags.Identity);
        Assert.Equal(0, iret);
        var ram0 = RamGfns(host.GetDomain(0));
        var ramU = RamGfns(host.GetDomain(1));
        var held = new ConcurrentDictionary<(ushort, ushort), int>();

        // vCPUs 0-3: dom0 on its context; 4-5: the DomU on its own; 6-7: dom0 driving the DomU's by remote_cmd.
        var scripts = Enumerable.Range(0, 8).Select(i => i switch
        {
            < 4 => new VcpuScript(host.Dom0(), null, shared0, Window(i), ram0, held, (seed * 100) + i),
            < 6 => new VcpuScript(host.DomU(), null, sharedU, Window(i), ramU, held, (seed * 100) + i),
            _ => new VcpuScript(host.Dom0(), 1, sharedU, Window(i), ramU, held, (seed * 100) + i),
        }).ToList();
        using var stop = new CancellationTokenSource();
        var tasks = scripts.Select(s => Start(() => s.Run(120))).ToList();
        var toolstack = Start(() => Balloon(host, domU, identity, ramU, seed, stop.Token));

        await Task.WhenAll(tasks).WaitAsync(_deadline);
        await stop.CancelAsync();
        await toolstack.WaitAsync(_deadline);

        for (var i = 0; i < scripts.Count; i++)
        {
            AssertWindow(host.GetDomain(i < 4 ? (ushort)0 : (ushort)1), i < 4 ? shared0 : sharedU, scripts[i]);
        }

        Assert.Equal(0, Mapped(host.GetDomain(0), shared0) - scripts.Take(4).Sum(s => s.Window.Count));
        Assert.Equal(0, Mapped(host.GetDomain(1), sharedU) - scripts.Skip(4).Sum(s => s.Window.Count));
        Assert.Empty(held);
        host.AssertNoLeaks();
        Assert.Equal(0, dom0.Free(shared0));
        Assert.Equal(0, domU.Free(sharedU));
        Assert.Equal(0, domU.Free(identity));
        Assert.Equal(0, host.GetDomain(0).Iommu.Arena!.InUse + host.GetDomain(1).Iommu.Arena!.InUse);
        host.AssertNoLeaks();
    }

    /// <summary>
    /// Two vCPUs map the same range of a shared context at the same moment, round after round
    /// (the DomU itself and dom0 through remote_cmd): the domain lock orders them, so exactly one
    /// succeeds and the other meets the winner's first page, -EADDRINUSE with nothing mapped;
    /// the range then holds the winner's frames.
    /// </summary>
    [Fact]
    public async Task RacingMaps_SameRange_ExactlyOneWins()
    {
        var host = SmallHost.Create(options: new HostOptions { PhysicalCpus = 2 });
        Assert.True(host.SetPvIommu(1, PvIommuPolicy.On).IsOk);
        var domU = host.DomU();
        Assert.Equal(0, domU.Init(8, 6));
        var ctx = domU.Alloc().Ctx;
        var racers = new[] { host.DomU(), host.Dom0() };
        const int Rounds = 150;
        var results = new (int Ret, uint Mapped)[2, Rounds];
        using var barrier = new Barrier(2);
        var tasks = Enumerable.Range(0, 2).Select(r => Start(() =>
        {
            for (var round = 0; round < Rounds; round++)
            {
                var dfn = 0x1000 + (ulong)(round % 7 * 64);
                var arg = new Abi.Structs.MapPages { CtxNo = ctx, Gfn = (ulong)(r * 1024) + (ulong)round, Dfn = dfn, NrPages = 32, Pgsize = PageSizes.Size4K, MapFlags = Guest.RW };
                Meet(barrier);
                var (ret, o) = r == 0 ? racers[0].Call(SubOp.MapPages, arg) : racers[1].Remote(1, SubOp.MapPages, arg);
                results[r, round] = (ret, o.Mapped);
                Meet(barrier);
                if (r == 0)
                {
                    var (lret, l) = domU.Lookup(ctx, dfn + 31);
                    var winner = results[0, round].Ret == 0 ? 0 : 1;
                    Assert.Equal((0, (ulong)(winner * 1024) + (ulong)round + 31), (lret, l.Gfn));
                    Assert.Equal(0, domU.Unmap(ctx, dfn, 32).Ret);
                }

                Meet(barrier);
            }
        })).ToList();

        await Task.WhenAll(tasks).WaitAsync(_deadline);

        for (var round = 0; round < Rounds; round++)
        {
            var pair = new[] { results[0, round], results[1, round] }.OrderBy(p => p.Ret).ToArray();
            Assert.Equal((Hosts.Err(XenErrno.EADDRINUSE), 0u), pair[0]);
            Assert.Equal((0, 32u), pair[1]);
        }

        host.AssertNoLeaks();
    }

    /// <summary>A barrier that fails instead of waiting forever when the other racer died.</summary>
    private static void Meet(Barrier barrier) => Assert.True(barrier.SignalAndWait(TimeSpan.FromSeconds(30)), "the other racer never arrived");

    private static ulong Window(int vcpu) => 0x10000 * (ulong)(vcpu + 1);

    private static Task Start(Action work) =>
        Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private static List<ulong> RamGfns(Domain domain) =>
        [.. domain.P2m.Entries().Where(e => P2m.IsRam(e.Entry.Type)).Select(e => e.Gfn)];

    /// <summary>
    /// The toolstack balloons the DomU in and out at gfns nobody maps, while a vCPU of the DomU
    /// checks that its identity context keeps mapping the RAM it does not balloon (dfn = gfn, RW).
    /// </summary>
    private static void Balloon(Host host, Guest domU, ushort identity, IReadOnlyList<ulong> ram, int seed, CancellationToken stop)
    {
        var random = new Random(seed);
        var reader = new Guest(host, domU.Domain);
        var gfn = 0x80000UL;
        while (!stop.IsCancellationRequested)
        {
            var count = (ulong)random.Next(1, 8);
            Assert.True(host.BalloonIn(1, gfn, count, out var gfns).IsOk);
            var probe = ram[random.Next(ram.Count)];
            var (ret, o) = reader.Lookup(identity, probe);
            Assert.Equal((0, probe, Guest.RW), (ret, o.Gfn, o.MapFlags));
            Assert.Equal(0, reader.Lookup(identity, gfns[0]).Ret);
            Assert.True(host.BalloonOut(1, gfns, out var released).IsOk);
            Assert.Equal((int)count, released);
            gfn += count;
        }
    }

    /// <summary>The window holds exactly the vCPU's replay, frame by frame.</summary>
    private static void AssertWindow(Domain domain, ushort ctx, VcpuScript script)
    {
        var table = domain.Iommu.Context(ctx)!.Table;
        for (var dfn = script.WindowBase; dfn < script.WindowBase + VcpuScript.WindowFrames; dfn++)
        {
            var mapped = table.TryLookup(dfn, out var leaf);
            Assert.True(mapped == script.Window.ContainsKey(dfn), $"d{domain.Id} ctx {ctx} dfn {dfn:x}: mapped {mapped}, replay says {script.Window.ContainsKey(dfn)}");
            if (mapped)
            {
                var (gfn, flags) = script.Window[dfn];
                var access = ((flags & MapFlags.Readable) != 0 ? PteAccess.Read : 0) | ((flags & MapFlags.Writeable) != 0 ? PteAccess.Write : 0);
                Assert.Equal((domain.P2m.Lookup(gfn).Mfn.Value, access), (leaf.Mfn, leaf.Access));
            }
        }
    }

    private static long Mapped(Domain domain, ushort ctx) => domain.Iommu.Context(ctx)!.MappedFrames;
}
