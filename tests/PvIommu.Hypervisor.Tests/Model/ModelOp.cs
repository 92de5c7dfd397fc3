using CsCheck;
using PvIommu.Abi;

namespace PvIommu.Hypervisor.Tests.Model;

/// <summary>What a step of a random sequence does.</summary>
public enum OpKind
{
    Query,
    Init,
    Alloc,
    Free,
    Reattach,
    Map,
    Unmap,
    Lookup,
    Flush,
    BalloonIn,
    BalloonOut,
    RemoteDenied,
}

/// <summary>How a sub-op reaches its target domain.</summary>
public enum Via
{
    /// <summary>The domain calls for itself.</summary>
    Direct,

    /// <summary>dom0 calls remote_cmd on it (dom0 on itself included).</summary>
    Remote,
}

/// <summary>
/// One step, as plain numbers: selectors the runner resolves against the host's fixed layout
/// and the model's state (so a shrunk sequence replays the same way). <see cref="Ctx"/> 0..5 is
/// a raw context number; 6 and up pick the n-th allocated context of the target.
/// </summary>
public readonly record struct ModelOp(
    OpKind Kind,
    ushort Dom,
    Via Via,
    int GfnSel,
    ulong GfnOff,
    int DfnSel,
    ulong DfnOff,
    uint Count,
    uint Flags,
    uint Pgsize,
    ushort Ctx,
    int Device,
    uint Seed)
{
    public override string ToString() =>
        $"{Kind} d{Dom} {Via} gfn({GfnSel},{GfnOff:x}) dfn({DfnSel},{DfnOff:x}) n={Count} flags={Flags:x} pgsize={Pgsize:x} ctx={Ctx} dev={Device} seed={Seed}";
}

/// <summary>Generators of steps: addresses cluster so that operations collide, split superpages and hit limits.</summary>
internal static class ModelGen
{
    /// <summary>Raw context numbers below this; at or above it, an allocated context by index.</summary>
    public const ushort PickAllocated = 6;

    private static readonly Gen<OpKind> _genKind = Gen.Frequency(
        (1, Gen.Const(OpKind.Query)),
        (3, Gen.Const(OpKind.Init)),
        (5, Gen.Const(OpKind.Alloc)),
        (3, Gen.Const(OpKind.Free)),
        (4, Gen.Const(OpKind.Reattach)),
        (16, Gen.Const(OpKind.Map)),
        (9, Gen.Const(OpKind.Unmap)),
        (6, Gen.Const(OpKind.Lookup)),
        (1, Gen.Const(OpKind.Flush)),
        (3, Gen.Const(OpKind.BalloonIn)),
        (3, Gen.Const(OpKind.BalloonOut)),
        (1, Gen.Const(OpKind.RemoteDenied)));

    private static readonly Gen<ushort> _genCtx = Gen.Frequency(
        (17, Gen.UShort[PickAllocated, PickAllocated + 3]),
        (3, Gen.UShort[0, PickAllocated - 1]));

    // gfn: RAM from its start, 2 MiB-aligned RAM, MMIO, any current RAM gfn, far unbacked.
    private static readonly Gen<int> _genGfnSel = Gen.Frequency(
        (4, Gen.Const(0)), (3, Gen.Const(1)), (1, Gen.Const(2)), (3, Gen.Const(3)), (1, Gen.Const(4)));

    // dfn: small, 2 MiB boundaries, across 1 GiB, at the reserved region, at the identity map, the top, a mapped leaf.
    private static readonly Gen<int> _genDfnSel = Gen.Frequency(
        (8, Gen.Const(0)), (8, Gen.Const(1)), (3, Gen.Const(2)), (3, Gen.Const(3)), (5, Gen.Const(4)), (1, Gen.Const(5)), (8, Gen.Const(6)));

    private static readonly Gen<uint> _genPgsize = Gen.Frequency(
        (85, Gen.Const(PageSizes.Size4K)),
        (12, Gen.Const(PageSizes.Size2M)),
        (2, Gen.Const(PageSizes.Size1G)),
        (1, Gen.Const(PageSizes.Size4K << 1)));

    private static readonly Gen<uint> _genCount = Gen.Frequency(
        (8, Gen.UInt[1, 16]),
        (4, Gen.UInt[1, 700]),
        (2, Gen.Const(512u)),
        (1, Gen.UInt[1, 3]),
        (1, Gen.Const(0u)));

    // Map: R, W, RW, sometimes cache or no_flush, rarely nothing or an unknown bit.
    private static readonly Gen<uint> _genFlags = Gen.Frequency(
        (2, Gen.Const((uint)MapFlags.Readable)),
        (1, Gen.Const((uint)MapFlags.Writeable)),
        (6, Gen.Const((uint)(MapFlags.Readable | MapFlags.Writeable))),
        (1, Gen.Const((uint)(MapFlags.Readable | MapFlags.Writeable | MapFlags.Cache))),
        (1, Gen.Const((uint)(MapFlags.Readable | MapFlags.NoFlush))),
        (1, Gen.Frequency((3, Gen.Const(0u)), (1, Gen.Const(1u << 7)), (1, Gen.Const(0x80000003u)))));

    public static readonly Gen<ModelOp> Op =
        from kind in _genKind
        from dom in Gen.Frequency((1, Gen.Const((ushort)0)), (1, Gen.Const((ushort)1)))
        from via in Gen.Frequency((3, Gen.Const(Via.Direct)), (2, Gen.Const(Via.Remote)))
        from gfn in Gen.Select(_genGfnSel, Gen.ULong[0, 3200])
        from dfn in Gen.Select(_genDfnSel, Gen.ULong[0, 0x1000])
        from shape in Gen.Select(_genCount, _genFlags, _genPgsize)
        from ctx in _genCtx
        from device in Gen.Int[0, 3]
        from seed in Gen.UInt
        select new ModelOp(kind, dom, via, gfn.Item1, gfn.Item2, dfn.Item1, dfn.Item2, shape.Item1, shape.Item2, shape.Item3, ctx, device, seed);
}
