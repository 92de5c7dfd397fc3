using CsCheck;
using PvIommu.Platform.PageTables;

namespace PvIommu.Platform.Tests.PageTables;

/// <summary>
/// Reference-model property test: random map/unmap/lookup sequences with mixed page sizes run
/// against the engine and against a plain dictionary of 4 KiB frames. After every step the
/// hardware-style walk over the PTE bytes must agree with the model, and no empty table may
/// be left; at the end the pool must be back to the root page.
/// </summary>
public class PageTableModelTests
{
    private const ulong Window = 1UL << 19; // 2 GiB of dfn space: room for 1 GiB leaves
    private const int Seeds = 48;

    public enum Kind
    {
        Map,
        Unmap,
        Lookup,
    }

    public readonly record struct Op(Kind Kind, ulong Dfn, ulong Mfn, ulong Count, int MaxLeaf, PteAccess Access)
    {
        public override string ToString() => $"{Kind}(dfn {Dfn:x}, mfn {Mfn:x}, n {Count}, leaf<={MaxLeaf}, {Access})";
    }

    // Addresses cluster on a few aligned bases so operations collide, split and overlap.
    private static readonly Gen<ulong> _genBase = Gen.OneOf(
        Gen.Const(0UL), Gen.Const(1UL << 18), Gen.ULong[0, 1023].Select(x => x * 512), Gen.ULong[0, Window - 1]);

    private static readonly Gen<ulong> _genCount = Gen.Frequency(
        (6, Gen.ULong[1, 40]), (3, Gen.ULong[1, 1100]), (2, Gen.Const(512UL)), (1, Gen.Const(1UL << 18)));

    private static readonly Gen<Op> _genOp =
        from kind in Gen.Frequency((5, Gen.Const(Kind.Map)), (4, Gen.Const(Kind.Unmap)), (2, Gen.Const(Kind.Lookup)))
        from dfn in _genBase
        from delta in Gen.OneOf(Gen.Const(0UL), Gen.ULong[0, 600])
        from count in _genCount
        from mfnBase in _genBase
        from leaf in Gen.Int[1, 3]
        from access in Gen.OneOf(Gen.Const(PteAccess.ReadWrite), Gen.Const(PteAccess.Read), Gen.Const(PteAccess.Write | PteAccess.Cache))
        select new Op(kind, Math.Min(dfn + delta, Window - 1), mfnBase + delta, Math.Min(count, Window - Math.Min(dfn + delta, Window - 1)), leaf, access);

    [Fact]
    public void VtdEngine_AgreesWithModel() => Run<VtdSecondLevel>(scattered: false);

    [Fact]
    public void AmdEngine_AgreesWithModel() => Run<AmdV1>(scattered: false);

    /// <summary>The same sequences over a pool in scattered chunks (the walk through page pointers).</summary>
    [Fact]
    public void VtdEngine_ScatteredPool_AgreesWithModel() => Run<VtdSecondLevel>(scattered: true);

    private static void Run<TFormat>(bool scattered)
        where TFormat : struct, IPteFormat
    {
        for (uint seed = 1; seed <= Seeds; seed++)
        {
            _genOp.Array[1, 40].Sample(
                ops => Check<TFormat>(ops, scattered),
                seed: new PCG(seed, seed * 7919UL).ToString(),
                iter: 1,
                threads: 1,
                print: ops => string.Join("\n", ops));
        }
    }

    private static void Check<TFormat>(Op[] ops, bool scattered)
        where TFormat : struct, IPteFormat
    {
        var h = new Harness<TFormat>(poolPages: 4096, scattered: scattered);
        var model = new Dictionary<ulong, (ulong Mfn, PteAccess Access)>();
        foreach (var op in ops)
        {
            switch (op.Kind)
            {
                case Kind.Map:
                    var status = h.Table.Map(op.Dfn, op.Mfn, op.Count, op.Access, op.MaxLeaf, out var mapped);
                    var expected = 0UL;
                    while (expected < op.Count && !model.ContainsKey(op.Dfn + expected))
                    {
                        model[op.Dfn + expected] = (op.Mfn + expected, op.Access);
                        expected++;
                    }

                    Assert.Equal(expected, mapped);
                    Assert.Equal(expected == op.Count ? PtStatus.Ok : PtStatus.InUse, status);
                    break;
                case Kind.Unmap:
                    var ustatus = h.Table.Unmap(op.Dfn, op.Count, out var unmapped);
                    var uexpected = 0UL;
                    while (uexpected < op.Count && model.Remove(op.Dfn + uexpected))
                    {
                        uexpected++;
                    }

                    Assert.Equal(uexpected, unmapped);
                    Assert.Equal(uexpected == op.Count ? PtStatus.Ok : PtStatus.NotMapped, ustatus);
                    break;
                case Kind.Lookup:
                    Assert.Equal(model.TryGetValue(op.Dfn, out var m), h.Table.TryLookup(op.Dfn, out var leaf));
                    Assert.Equal(m.Mfn, leaf.Mfn);
                    break;
            }

            Agree(h, model, op);
        }

        foreach (var dfn in model.Keys.Order().ToList())
        {
            if (model.ContainsKey(dfn))
            {
                var run = 0UL;
                while (model.Remove(dfn + run))
                {
                    run++;
                }

                Assert.Equal(PtStatus.Ok, h.Table.Unmap(dfn, run, out _));
            }
        }

        Assert.Equal(1, h.Pool.InUse);
        Assert.Equal(0, h.Table.MappedFrames);
    }

    private static void Agree<TFormat>(Harness<TFormat> h, Dictionary<ulong, (ulong Mfn, PteAccess Access)> model, Op op)
        where TFormat : struct, IPteFormat
    {
        Assert.Equal(model.Count, h.Table.MappedFrames);
        Assert.Equal(h.CheckTables(), h.Table.TablePages);
        Assert.Equal(h.Table.TablePages, h.Pool.InUse);

        // Every frame near the operation, and a sample of the rest, must walk as the model says.
        var probes = Enumerable.Range(-2, (int)Math.Min(op.Count, 1200) + 4)
            .Select(d => op.Dfn + (ulong)(long)d)
            .Where(d => d < Window)
            .Concat(model.Keys.Where((_, i) => i % 97 == 0));
        foreach (var dfn in probes)
        {
            var walk = h.Walk(dfn);
            if (model.TryGetValue(dfn, out var m))
            {
                Assert.True(walk.HasValue, $"dfn {dfn:x} mapped in the model, not in the table");
                Assert.Equal(m.Mfn, walk.Value.Mfn);
                Assert.Equal(m.Access, walk.Value.Access);
            }
            else
            {
                Assert.False(walk.HasValue, $"dfn {dfn:x} not mapped in the model, but the table maps it");
            }
        }
    }
}
