using System.Collections.Concurrent;
using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Hypervisor.Tests.Support;

namespace PvIommu.Hypervisor.Tests.Concurrency;

/// <summary>
/// One vCPU's seeded script: map, unmap and lookup in its own dfn window of a context it shares
/// with other vCPUs, plus private contexts it allocates, fills and frees. Nobody else touches
/// its window or its private contexts, so whatever order the domain lock gives the calls, each
/// result must be what the vCPU's own serial replay (<see cref="Window"/>) predicts; every
/// returned struct must be consistent with its call (a torn or mixed-up struct fails here).
/// </summary>
internal sealed class VcpuScript(
    Guest caller,
    ushort? remote,
    ushort shared,
    ulong window,
    IReadOnlyList<ulong> ramGfns,
    ConcurrentDictionary<(ushort Dom, ushort Ctx), int> held,
    int seed)
{
    /// <summary>dfns in the window (2 MiB-aligned start, so its superpages are its own).</summary>
    public const ulong WindowFrames = 0x2000;

    private readonly Random _random = new(seed);

    /// <summary>The serial replay: dfn → (gfn, flags) this vCPU has mapped in its window.</summary>
    public Dictionary<ulong, (ulong Gfn, MapFlags Flags)> Window { get; } = [];

    public ulong WindowBase => window;

    public int Calls { get; private set; }

    private ushort Target => remote ?? caller.Domain.Id;

    public void Run(int steps)
    {
        for (var i = 0; i < steps; i++)
        {
            var pick = _random.Next(100);
            if (pick < 40)
            {
                Map();
            }
            else if (pick < 70)
            {
                Unmap();
            }
            else if (pick < 92)
            {
                Lookup();
            }
            else
            {
                PrivateContext();
            }
        }
    }

    private (int Ret, T Out) Call<T>(SubOp op, T arg)
        where T : struct, IAbiStruct<T>
    {
        Calls++;
        return remote is { } domid ? caller.Remote(domid, op, arg) : caller.Call(op, arg);
    }

    private void Map()
    {
        var superpage = _random.Next(8) == 0;
        var count = superpage ? 512u : (uint)_random.Next(1, _random.Next(2) == 0 ? 16 : 700);
        var dfn = window + (superpage ? (ulong)_random.Next((int)(WindowFrames / 512)) * 512 : (ulong)_random.NextInt64((long)(WindowFrames - count)));
        var gfnIndex = superpage ? (_random.Next(ramGfns.Count / 512) * 512) : _random.Next(ramGfns.Count - (int)count);
        var gfn = ramGfns[gfnIndex];
        var flags = _random.Next(3) switch { 0 => MapFlags.Readable, 1 => MapFlags.Writeable, _ => Guest.RW };
        var arg = new MapPages { CtxNo = shared, Gfn = gfn, Dfn = dfn, NrPages = count, Pgsize = PageSizes.Size4K, MapFlags = flags };
        var (ret, o) = Call(SubOp.MapPages, arg);

        uint expected = 0;
        while (expected < count && !Window.ContainsKey(dfn + expected))
        {
            Window[dfn + expected] = (gfn + expected, flags);
            expected++;
        }

        Assert.Equal(expected == count ? 0 : Hosts.Err(XenErrno.EADDRINUSE), ret);
        Progress(arg, o.CtxNo, o.Gfn, o.Dfn, o.NrPages, o.Mapped, expected);
        Assert.Equal((arg.MapFlags, arg.Pgsize), (o.MapFlags, o.Pgsize));
    }

    private void Unmap()
    {
        var count = (uint)_random.Next(1, _random.Next(2) == 0 ? 16 : 700);
        var dfn = Window.Count > 0 && _random.Next(3) != 0
            ? Window.Keys.ElementAt(_random.Next(Window.Count))
            : window + (ulong)_random.NextInt64((long)(WindowFrames - count));
        count = (uint)Math.Min(count, window + WindowFrames - dfn);
        var arg = new UnmapPages { CtxNo = shared, Dfn = dfn, NrPages = count, Pgsize = PageSizes.Size4K };
        var (ret, o) = Call(SubOp.UnmapPages, arg);

        uint expected = 0;
        while (expected < count && Window.Remove(dfn + expected))
        {
            expected++;
        }

        Assert.Equal(expected == count ? 0 : Hosts.Err(XenErrno.ENOENT), ret);
        Assert.Equal(arg.CtxNo, o.CtxNo);
        Assert.Equal(arg.Pgsize, o.Pgsize);
        Assert.Equal(expected, o.Unmapped);
        Assert.Equal(o.Dfn - dfn, (ulong)(count - o.NrPages));
    }

    private void Lookup()
    {
        var dfn = Window.Count > 0 && _random.Next(2) == 0
            ? Window.Keys.ElementAt(_random.Next(Window.Count))
            : window + (ulong)_random.NextInt64((long)WindowFrames);
        var (ret, o) = Call(SubOp.LookupPage, new LookupPage { CtxNo = shared, Dfn = dfn });
        Assert.Equal((shared, dfn), (o.CtxNo, o.Dfn));
        if (!Window.TryGetValue(dfn, out var m))
        {
            Assert.Equal(Hosts.Err(XenErrno.ENOENT), ret);
            Assert.Equal((0UL, (MapFlags)0, 0u), (o.Gfn, o.MapFlags, o.Pgsize));
            return;
        }

        Assert.Equal(0, ret);
        Assert.Equal((m.Gfn, m.Flags), (o.Gfn, o.MapFlags));
        Assert.True(o.Pgsize is PageSizes.Size4K or PageSizes.Size2M, $"pgsize {o.Pgsize:x}");
        if (o.Pgsize == PageSizes.Size2M)
        {
            // A 2 MiB leaf: the whole aligned region is this vCPU's, mapped contiguously with one set of flags.
            var first = dfn & ~511UL;
            var head = Window[first];
            for (ulong k = 0; k < 512; k++)
            {
                Assert.True(Window.TryGetValue(first + k, out var f) && f == (head.Gfn + k, head.Flags), $"2 MiB leaf at {first:x}, but dfn {first + k:x} is {f}");
            }
        }
    }

    /// <summary>A private context: allocated (its number held by nobody else), mapped, looked up, freed.</summary>
    private void PrivateContext()
    {
        var (ret, a) = Call(SubOp.AllocContext, new Alloc());
        Assert.Equal(0, ret);
        Assert.True(held.TryAdd((Target, a.CtxNo), seed), $"context {a.CtxNo} of d{Target} handed out twice");
        var count = (uint)_random.Next(1, 40);
        var gfn = ramGfns[_random.Next(ramGfns.Count - (int)count)];
        var (mret, m) = Call(SubOp.MapPages, new MapPages { CtxNo = a.CtxNo, Gfn = gfn, Dfn = 0x100, NrPages = count, Pgsize = PageSizes.Size4K, MapFlags = Guest.RW });
        Assert.Equal((0, count), (mret, m.Mapped));
        var (lret, l) = Call(SubOp.LookupPage, new LookupPage { CtxNo = a.CtxNo, Dfn = 0x100 + count - 1 });
        Assert.Equal((0, gfn + count - 1), (lret, l.Gfn));
        if (_random.Next(2) == 0)
        {
            var (uret, u) = Call(SubOp.UnmapPages, new UnmapPages { CtxNo = a.CtxNo, Dfn = 0x100, NrPages = count, Pgsize = PageSizes.Size4K });
            Assert.Equal((0, count), (uret, u.Unmapped));
        }

        // Released before the free: once free returns, another vCPU may get the number.
        Assert.True(held.TryRemove((Target, a.CtxNo), out _));
        Assert.Equal(0, Call(SubOp.FreeContext, new Free { CtxNo = a.CtxNo }).Ret);
    }

    /// <summary>
    /// The struct a map gave back: the same context and an advance consistent with its count. A
    /// preempted call writes progress back (spec §4): gfn and dfn advance together by the pages
    /// its earlier slices mapped, nr_pages shrinks by as many, and mapped counts them all.
    /// </summary>
    private static void Progress(MapPages arg, ushort ctx, ulong gfn, ulong dfn, uint nrPages, uint mapped, uint expected)
    {
        Assert.Equal(arg.CtxNo, ctx);
        Assert.Equal(expected, mapped);
        var advanced = arg.NrPages - nrPages;
        Assert.True(advanced <= mapped, $"advanced {advanced} pages, mapped {mapped}");
        Assert.Equal((ulong)advanced, dfn - arg.Dfn);
        Assert.Equal((ulong)advanced, gfn - arg.Gfn);
    }
}
