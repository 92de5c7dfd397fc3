using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Hypervisor.Tests.Support;
using PvIommu.Platform.Pci;

namespace PvIommu.Hypervisor.Tests.Faults;

/// <summary>A step of the scripted run; a context is named by its slot (what alloc returned).</summary>
internal abstract record ScriptStep(string Name);

internal sealed record InitStep(uint MaxCtx, uint Order) : ScriptStep($"init({MaxCtx}, order {Order})");

internal sealed record AllocStep(bool Identity, int Slot) : ScriptStep(Identity ? $"alloc identity → slot {Slot}" : $"alloc → slot {Slot}");

internal sealed record ReattachStep(Sbdf Device, int Slot) : ScriptStep($"reattach {Device} → slot {Slot}");

internal sealed record MapStep(int Slot, ulong GfnOffset, ulong Dfn, uint Pages, uint Pgsize)
    : ScriptStep($"map slot {Slot} ram+{GfnOffset:x} → dfn {Dfn:x} × {Pages} of {Pgsize:x}");

internal sealed record UnmapStep(int Slot, ulong Dfn, uint Pages, uint Pgsize)
    : ScriptStep($"unmap slot {Slot} dfn {Dfn:x} × {Pages} of {Pgsize:x}");

internal sealed record BalloonInStep(ulong Count) : ScriptStep($"balloon in {Count}");

internal sealed record BalloonOutStep(ulong GfnOffset) : ScriptStep($"balloon out ram+{GfnOffset:x}");

internal sealed record FreeStep(int Slot, bool Reattach) : ScriptStep($"free slot {Slot}{(Reattach ? " (reattach default)" : string.Empty)}");

/// <summary>
/// What a step did: the errno (null: success) and, for map and unmap, the range it was asked
/// for and the pages the OUT struct counts.
/// </summary>
internal readonly record struct StepResult(XenErrno? Error, ulong Dfn = 0, ulong Gfn = 0, uint Pgsize = 0, uint Pages = 0, uint Done = 0);

/// <summary>
/// The scripted run of the fault-injection tests: init, alloc ×2 (one identity), reattach, maps
/// (4 KiB, 2 MiB, a run that becomes a superpage plus a tail, one across a 1 GiB boundary), an
/// unmap that splits a superpage, balloon in, a balloon-out that splits context 0's and the
/// identity context's superpages, the unmaps of the rest, and the frees. It runs on dom0
/// directly, or on the DomU through dom0's remote_cmd.
/// </summary>
internal sealed class FaultScript
{
    private readonly Host _host;
    private readonly Guest _caller;
    private readonly ushort? _remote;
    private readonly ushort[] _slots = new ushort[2];

    public FaultScript(Host host, ushort target)
    {
        _host = host;
        _caller = host.Dom0();
        _remote = target == 0 ? null : target;
        Target = host.GetDomain(target);
        var first = Target.P2m.Entries().First(e => Domains.P2m.IsRam(e.Entry.Type)).Gfn;
        Ram = (first + 511) & ~511UL;
        Nic = target == 0 ? Toolstack.DefaultHost.Nic : Toolstack.DefaultHost.DomUNic;
    }

    public Domains.Domain Target { get; }

    /// <summary>The first 2 MiB-aligned RAM gfn of the target.</summary>
    public ulong Ram { get; }

    public Sbdf Nic { get; }

    /// <summary>The context number alloc put in <paramref name="slot"/>.</summary>
    public ushort SlotContext(int slot) => _slots[slot];

    public IReadOnlyList<ScriptStep> Steps =>
    [
        new InitStep(4, 6),
        new AllocStep(false, 0),
        new AllocStep(true, 1),
        new ReattachStep(Nic, 0),
        new MapStep(0, 0x10, 0x1000, 8, PageSizes.Size4K),
        new MapStep(0, 0, 0x200, 2, PageSizes.Size2M),
        new MapStep(0, 0x400, 0x800, 600, PageSizes.Size4K),
        new MapStep(0, 0x700, 0x3FFF6, 20, PageSizes.Size4K),
        new UnmapStep(0, 0x205, 10, PageSizes.Size4K),
        new BalloonInStep(4),
        new BalloonOutStep(0x105),
        new UnmapStep(0, 0x1000, 8, PageSizes.Size4K),
        new UnmapStep(0, 0x400, 1, PageSizes.Size2M),
        new UnmapStep(0, 0x800, 600, PageSizes.Size4K),
        new UnmapStep(0, 0x3FFF6, 20, PageSizes.Size4K),
        new FreeStep(1, false),
        new FreeStep(0, true),
    ];

    /// <summary>dfns whose lookup the snapshots record, in the slots' contexts.</summary>
    private ulong[] Probes => [0x1000, 0x1007, 0x200, 0x204, 0x205, 0x20E, 0x20F, 0x3FF, 0x400, 0x5FF, 0x800, 0xA00, 0xA57, 0x3FFF6, 0x3FFFF, 0x40000, 0x40009, Ram + 0x105, Ram];

    public StepResult Run(ScriptStep step) => step switch
    {
        InitStep s => Ret(Call(SubOp.Init, new Init { MaxCtxNo = s.MaxCtx, ArenaOrder = s.Order }).Ret),
        AllocStep s => Alloc(s),
        ReattachStep s => Ret(Call(SubOp.ReattachDevice, new ReattachDevice { CtxNo = _slots[s.Slot], Dev = Guest.Dev(s.Device) }).Ret),
        MapStep s => Map(_slots[s.Slot], Ram + s.GfnOffset, s.Dfn, s.Pages, s.Pgsize),
        UnmapStep s => Unmap(_slots[s.Slot], s.Dfn, s.Pages, s.Pgsize),
        BalloonInStep s => new(_host.BalloonIn(Target.Id, 0x80000, s.Count, out _).Error),
        BalloonOutStep s => new(_host.BalloonOut(Target.Id, [Ram + s.GfnOffset], out _).Error),
        FreeStep s => Ret(Call(SubOp.FreeContext, new Free { CtxNo = _slots[s.Slot], FreeFlags = s.Reattach ? FreeFlags.ReattachDefault : 0 }).Ret),
        _ => throw new ArgumentOutOfRangeException(nameof(step)),
    };

    /// <summary>
    /// Finishes a step that failed: the same call again, or for a map or unmap that made
    /// progress, the pages it did not do (spec §3: the caller can continue from what the OUT
    /// struct counts).
    /// </summary>
    public StepResult Retry(ScriptStep step, StepResult failed)
    {
        if (failed.Done == 0 || step is not (MapStep or UnmapStep))
        {
            return Run(step);
        }

        var moved = (ulong)failed.Done * (failed.Pgsize / PageSizes.Size4K);
        return step is MapStep m
            ? Map(_slots[m.Slot], failed.Gfn + moved, failed.Dfn + moved, failed.Pages - failed.Done, failed.Pgsize)
            : Unmap(_slots[((UnmapStep)step).Slot], failed.Dfn + moved, failed.Pages - failed.Done, failed.Pgsize);
    }

    /// <summary>lookup_page over the script's dfns in the slots' contexts, printed.</summary>
    public string Lookups() => string.Join(" ", _slots.Distinct().Where(s => s != 0).SelectMany(ctx => Probes.Select(dfn =>
    {
        var (ret, o) = Call(SubOp.LookupPage, new LookupPage { CtxNo = ctx, Dfn = dfn });
        return ret == 0 ? $"{ctx}/{dfn:x}={o.Gfn:x}:{(uint)o.MapFlags}:{o.Pgsize:x}" : $"{ctx}/{dfn:x}={XenErrnos.Describe(ret)}";
    })));

    private static StepResult Ret(int ret) => new(ret == 0 ? null : XenErrnos.FromReturnValue(ret));

    private StepResult Alloc(AllocStep s)
    {
        var (ret, o) = Call(SubOp.AllocContext, new Alloc { AllocFlags = s.Identity ? AllocFlags.Identity : 0 });
        if (ret == 0)
        {
            _slots[s.Slot] = o.CtxNo;
        }

        return Ret(ret);
    }

    private StepResult Map(ushort ctx, ulong gfn, ulong dfn, uint pages, uint pgsize)
    {
        var (ret, o) = Call(SubOp.MapPages, new MapPages { CtxNo = ctx, Gfn = gfn, Dfn = dfn, NrPages = pages, Pgsize = pgsize, MapFlags = Guest.RW });
        return Ret(ret) with { Dfn = dfn, Gfn = gfn, Pgsize = pgsize, Pages = pages, Done = o.Mapped };
    }

    private StepResult Unmap(ushort ctx, ulong dfn, uint pages, uint pgsize)
    {
        var (ret, o) = Call(SubOp.UnmapPages, new UnmapPages { CtxNo = ctx, Dfn = dfn, NrPages = pages, Pgsize = pgsize });
        return Ret(ret) with { Dfn = dfn, Pgsize = pgsize, Pages = pages, Done = o.Unmapped };
    }

    private (int Ret, T Out) Call<T>(SubOp op, T arg)
        where T : struct, IAbiStruct<T> =>
        _remote is { } domid ? _caller.Remote(domid, op, arg) : _caller.Call(op, arg);
}
