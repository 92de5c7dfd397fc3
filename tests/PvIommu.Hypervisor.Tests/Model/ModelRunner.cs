using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Hypervisor.Tests.Support;

namespace PvIommu.Hypervisor.Tests.Model;

/// <summary>What a step gave back: the return value and the OUT struct (or the toolstack's answer), printed.</summary>
internal readonly record struct Observed(string Ret, string Out)
{
    public static Observed Of<T>(int ret, T value) => new(XenErrnos.Describe(ret), value?.ToString() ?? string.Empty);

    public static Observed Of<T>(XenErrno? error, T value) => Of(error?.ToReturnValue() ?? 0, value);
}

/// <summary>
/// Runs one <see cref="ModelOp"/> on the host (through the guests' ABI channels, or the toolstack)
/// and on the model, and returns both answers. Selectors resolve against the model's state, which
/// equals the host's after every step (the test checks it), so a replay resolves them the same way.
/// </summary>
internal sealed class ModelRunner(Host host, PvIommuModel model)
{
    private readonly Guest[] _guests = [host.Dom0(), host.DomU()];

    /// <summary>dfns the step touched (the isolation check probes them and their neighbours).</summary>
    public List<ulong> Touched { get; } = [];

    public (Observed Expected, Observed Actual) Step(ModelOp op)
    {
        Touched.Clear();
        var d = model.Domains[op.Dom];
        return op.Kind switch
        {
            OpKind.Query => Query(op, d),
            OpKind.Init => Init(op, d),
            OpKind.Alloc => Alloc(op, d),
            OpKind.Free => Free(op, d),
            OpKind.Reattach => Reattach(op, d),
            OpKind.Map => Map(op, d),
            OpKind.Unmap => Unmap(op, d),
            OpKind.Lookup => Lookup(op, d),
            OpKind.Flush => Flush(op, d),
            OpKind.BalloonIn => BalloonIn(op, d),
            OpKind.BalloonOut => BalloonOut(op, d),
            OpKind.RemoteDenied => RemoteDenied(op),
            _ => throw new ArgumentOutOfRangeException(nameof(op)),
        };
    }

    private (int Ret, T Out) Call<T>(ModelOp op, SubOp sub, T arg)
        where T : struct, IAbiStruct<T> =>
        op.Via == Via.Direct ? _guests[op.Dom].Call(sub, arg) : _guests[0].Remote(op.Dom, sub, arg);

    private (Observed, Observed) Query(ModelOp op, ModelDomain d)
    {
        var (ret, caps) = Call(op, SubOp.QueryCapabilities, new Capabilities());
        return (Observed.Of(0, model.Query(d, host.MaxIovaAddress)), Observed.Of(ret, caps));
    }

    private (Observed, Observed) Init(ModelOp op, ModelDomain d)
    {
        // The first six orders are roomy enough for a few contexts; the rest are tiny or too big.
        uint[] orders = [2, 3, 4, 5, 6, 8, 0, 1, 2, 3, 21];
        var maxCtx = (op.Seed % 16) switch { 0 => 0u, 1 => 65535u, var s => 1 + (s % 4) };
        var init = new Init { MaxCtxNo = maxCtx, ArenaOrder = orders[op.GfnOff % (ulong)orders.Length] };
        var (ret, back) = Call(op, SubOp.Init, init);
        return (Observed.Of(model.Init(d, init), init), Observed.Of(ret, back));
    }

    private (Observed, Observed) Alloc(ModelOp op, ModelDomain d)
    {
        var flags = (op.Flags % 20) switch { 0 => (AllocFlags)2, < 9 => AllocFlags.Identity, _ => AllocFlags.None };
        var alloc = new Alloc { AllocFlags = flags };
        var (ret, back) = Call(op, SubOp.AllocContext, alloc);
        var error = model.Alloc(d, ref alloc);
        return (Observed.Of(error, alloc), Observed.Of(ret, back));
    }

    private (Observed, Observed) Free(ModelOp op, ModelDomain d)
    {
        var flags = op.Flags % 30 == 0 ? (FreeFlags)2 : (op.Flags & 1) != 0 ? FreeFlags.ReattachDefault : FreeFlags.None;
        var free = new Free { CtxNo = Ctx(op, d), FreeFlags = flags };
        var (ret, back) = Call(op, SubOp.FreeContext, free);
        return (Observed.Of(model.Free(d, free), free), Observed.Of(ret, back));
    }

    private (Observed, Observed) Reattach(ModelOp op, ModelDomain d)
    {
        var device = SmallHost.Devices[op.Device];
        var reattach = new ReattachDevice { CtxNo = Ctx(op, d), Dev = Guest.Dev(device), Pasid = op.Seed % 25 == 0 ? 1u : 0u };
        var (ret, back) = Call(op, SubOp.ReattachDevice, reattach);
        return (Observed.Of(model.Reattach(d, reattach), reattach), Observed.Of(ret, back));
    }

    private (Observed, Observed) Map(ModelOp op, ModelDomain d)
    {
        var (gfn, dfn, count) = Shape(op, d, Gfn(op, d));
        var map = new MapPages { CtxNo = Ctx(op, d), Gfn = gfn, Dfn = dfn, MapFlags = (MapFlags)op.Flags, Pgsize = op.Pgsize, NrPages = count, Mapped = op.Seed % 7 == 0 ? 3u : 0u };
        var (ret, back) = Call(op, SubOp.MapPages, map);
        var error = model.Map(d, ref map);
        TouchRange(dfn, count, op.Pgsize);
        return (Observed.Of(error, map), Observed.Of(ret, back));
    }

    private (Observed, Observed) Unmap(ModelOp op, ModelDomain d)
    {
        var (_, dfn, count) = Shape(op, d, 0);
        var unmap = new UnmapPages { CtxNo = Ctx(op, d), Dfn = dfn, Pgsize = op.Pgsize, NrPages = count, Unmapped = op.Seed % 7 == 0 ? 5u : 0u };
        var (ret, back) = Call(op, SubOp.UnmapPages, unmap);
        var error = model.Unmap(d, ref unmap);
        TouchRange(dfn, count, op.Pgsize);
        return (Observed.Of(error, unmap), Observed.Of(ret, back));
    }

    private (Observed, Observed) Lookup(ModelOp op, ModelDomain d)
    {
        var ctx = op.Ctx % ModelGen.PickAllocated == 0 && op.Seed % 2 == 0 ? (ushort)0 : Ctx(op, d);
        var lookup = new LookupPage { CtxNo = ctx, Dfn = Dfn(op, d, ctx) };
        var (ret, back) = Call(op, SubOp.LookupPage, lookup);
        var error = model.Lookup(d, ref lookup);
        Touched.Add(lookup.Dfn);
        return (Observed.Of(error, lookup), Observed.Of(ret, back));
    }

    private (Observed, Observed) Flush(ModelOp op, ModelDomain d)
    {
        var (_, dfn, count) = Shape(op, d, 0);
        var flush = new FlushPages { CtxNo = Ctx(op, d), Dfn = dfn, Pgsize = op.Pgsize, NrPages = count };
        var (ret, back) = Call(op, SubOp.FlushPages, flush);
        return (Observed.Of(model.Flush(d, flush), flush), Observed.Of(ret, back));
    }

    private (Observed, Observed) BalloonIn(ModelOp op, ModelDomain d)
    {
        var count = 1 + (op.Count % 8);
        var first = d.IsPv ? 0 : Gfn(op, d);
        var result = host.BalloonIn(d.Id, first, count, out var gfns);
        var domain = host.GetDomain(d.Id);
        IReadOnlyList<ulong> asked = d.IsPv
            ? result.IsOk ? gfns : [.. Enumerable.Repeat(0UL, (int)count)]
            : [.. Enumerable.Range(0, (int)count).Select(i => first + (ulong)i)];
        var mfns = result.IsOk ? gfns.Select(g => domain.P2m.Lookup(g).Mfn.Value).ToList() : null;
        var error = model.BalloonIn(d, asked, mfns);
        var expected = new Observed(error is { } e ? e.Name() : "ok", error is null ? string.Join(",", asked.Select(g => g.ToString("x"))) : string.Empty);
        Touched.AddRange(result.IsOk ? gfns : []);
        var actual = new Observed(result.IsOk ? "ok" : result.Error!.Value.Name(), result.IsOk ? string.Join(",", gfns.Select(g => g.ToString("x"))) : string.Empty);
        return (expected, actual);
    }

    private (Observed, Observed) BalloonOut(ModelOp op, ModelDomain d)
    {
        var first = Gfn(op, d);
        var gfns = Enumerable.Range(0, 1 + (int)(op.Seed % 3)).Select(i => first + ((ulong)i * (1 + ((op.Seed >> 4) % 600)))).ToList();
        var result = host.BalloonOut(d.Id, gfns, out var released);
        var error = model.BalloonOut(d, gfns, out var expectReleased);
        Touched.AddRange(gfns);
        return (new Observed(error is { } e ? e.Name() : "ok", $"released {expectReleased}"),
            new Observed(result.IsOk ? "ok" : result.Error!.Value.Name(), $"released {released}"));
    }

    /// <summary>A DomU may not use remote_cmd (spec §1.1): it is nobody's device model.</summary>
    private (Observed, Observed) RemoteDenied(ModelOp op)
    {
        var (ret, back) = _guests[1].Remote(op.Dom, SubOp.LookupPage, new LookupPage { CtxNo = 1, Dfn = op.DfnOff });
        return (Observed.Of(XenErrno.EPERM, new LookupPage { CtxNo = 1, Dfn = op.DfnOff }), Observed.Of(ret, back));
    }

    /// <summary>A raw number (0..5) or the n-th allocated context.</summary>
    private static ushort Ctx(ModelOp op, ModelDomain d)
    {
        if (op.Ctx < ModelGen.PickAllocated)
        {
            return op.Ctx;
        }

        var live = d.Contexts.Keys.ToList();
        return live.Count == 0 ? (ushort)1 : live[(op.Ctx - ModelGen.PickAllocated) % live.Count];
    }

    private static ulong Gfn(ModelOp op, ModelDomain d) => op.GfnSel switch
    {
        0 => d.RamFirst + op.GfnOff,
        1 => d.RamFirst + (512 * (op.GfnOff % 6)),
        2 => SmallHost.MmioFirst + (op.GfnOff % 0x110),
        3 when d.Ram.Count > 0 => d.Ram.Keys.ElementAt((int)(op.GfnOff % (ulong)d.Ram.Count)),
        _ => 0x80000 + op.GfnOff,
    };

    private ulong Dfn(ModelOp op, ModelDomain d, ushort ctx)
    {
        switch (op.DfnSel)
        {
            case 1:
                return (0x200 * (op.DfnOff % 9)) + (op.Seed % 4 == 0 ? op.DfnOff % 7 : 0);
            case 2:
                return 0x40000 - 0x300 + (op.DfnOff % 0x600);
            case 3:
                return 0x7F000 - 24 + (op.DfnOff % 48);
            case 4:
                return d.RamFirst + (op.DfnOff % (d.RamFrames + 64));
            case 5:
                return model.MaxDfn - (op.DfnOff % 4);
            case 6 when d.Context(ctx) is { Table.Leaves.Count: > 0 } context:
                var leaves = context.Table.Leaves.OrderBy(l => l.Key).ToList();
                var (first, leaf) = leaves[(int)(op.Seed % (uint)leaves.Count)];
                return first + (op.DfnOff % leaf.Frames);
            default:
                return op.DfnOff % 0x1000;
        }
    }

    /// <summary>gfn, dfn and page count for map/unmap/flush: superpage sizes are usually aligned and few.</summary>
    private (ulong Gfn, ulong Dfn, uint Count) Shape(ModelOp op, ModelDomain d, ulong gfn)
    {
        var dfn = Dfn(op, d, Ctx(op, d));
        var count = op.Count;
        if (op.Pgsize is not PageSizes.Size4K)
        {
            count %= 4;
            if (op.Seed % 8 != 0 && PageSizes.IsSupported(op.Pgsize))
            {
                var mask = ~(PageSizes.FramesPerPage(op.Pgsize) - 1);
                (gfn, dfn) = (gfn & mask, dfn & mask);
            }
        }

        return (gfn, dfn, count);
    }

    private void TouchRange(ulong dfn, uint count, uint pgsize)
    {
        var frames = Math.Min((ulong)count * Math.Max(1, pgsize / PageSizes.Size4K), 48);
        for (ulong k = 0; k < frames + 2; k++)
        {
            Touched.Add(dfn + k - 1);
        }

        if (count > 0 && pgsize == PageSizes.Size4K)
        {
            Touched.Add(dfn + count);
            Touched.Add(dfn + count - 1);
        }
    }
}
