using PvIommu.Abi;
using PvIommu.Platform.PageTables;

namespace PvIommu.Hypervisor.Tests.Model;

/// <summary>
/// Ballooning in the model: RAM enters and leaves the p2m, and the contexts that mirror the p2m
/// (context 0, identity contexts) follow, all or nothing per call (in) and per gfn (out).
/// </summary>
internal sealed partial class PvIommuModel
{
    /// <summary>
    /// Predicts a balloon-in of <paramref name="gfns"/> backed by <paramref name="mfns"/> (null
    /// when the host refused, so the frames it would have used are unknown).
    /// </summary>
    /// <returns>
    /// The errno the model predicts, or <see langword="null"/> for success (then applied). For a
    /// PV domain whose host refused the frames are unknown, and their dfns with them (PV context 0
    /// maps dfn = mfn), so the model cannot count the tables they would need: it accepts ENOMEM
    /// when some mirror has fewer free pages than the worst case (every level missing for every
    /// frame) and changes nothing; the comparison after the step proves the host changed nothing
    /// either.
    /// </returns>
    public XenErrno? BalloonIn(ModelDomain d, IReadOnlyList<ulong> gfns, IReadOnlyList<ulong>? mfns)
    {
        if (!d.IsPv && gfns.Any(g => d.Ram.ContainsKey(g) || d.Mmio.ContainsKey(g)))
        {
            return XenErrno.EBUSY;
        }

        var mirrors = Mirrors(d);
        if (d.IsPv && mfns is null)
        {
            var worst = (Levels - 1) * gfns.Count;
            return mirrors.Any(m => (m.Number == 0 ? d.DefaultPoolFree : d.ArenaFree) < worst) ? XenErrno.ENOMEM : null;
        }

        var tables = mirrors.Select(m => m.Table.Clone()).ToArray();
        var poolFree = d.DefaultPoolFree;
        var arenaFree = d.ArenaFree;
        for (var k = 0; k < gfns.Count; k++)
        {
            var gfn = gfns[k];
            var mfn = mfns?[k] ?? 0;
            for (var m = 0; m < mirrors.Count; m++)
            {
                var dfn = mirrors[m].Number == 0 && d.IsPv ? mfn : gfn;
                if (tables[m].IsMapped(dfn))
                {
                    continue;
                }

                var status = mirrors[m].Number == 0
                    ? tables[m].MapRun(dfn, mfn, gfn, 1, PteAccess.ReadWrite, ref poolFree).Status
                    : tables[m].MapRun(dfn, mfn, gfn, 1, PteAccess.ReadWrite, ref arenaFree).Status;
                if (status != PtStatus.Ok)
                {
                    return XenErrno.ENOMEM;
                }
            }
        }

        if (mfns is null)
        {
            // Success predicted but the host refused: the caller reports the mismatch.
            return null;
        }

        for (var m = 0; m < mirrors.Count; m++)
        {
            mirrors[m].Table = tables[m];
        }

        for (var k = 0; k < gfns.Count; k++)
        {
            d.Ram[gfns[k]] = mfns[k];
        }

        return null;
    }

    /// <summary>
    /// Balloon-out, all or nothing: a gfn that is not RAM refuses the call (ENOENT); then every
    /// mirror (context 0, identity contexts) whose dfn still reaches a frame splits the superpage
    /// holding it, ENOMEM when a pool has no page; then the frames leave the p2m and the mirrors.
    /// </summary>
    /// <remarks>A refused call changes nothing: superpages split before the refusal are whole again.</remarks>
    public XenErrno? BalloonOut(ModelDomain d, IReadOnlyList<ulong> gfns, out int released)
    {
        released = 0;
        var frames = gfns.Distinct().ToList();
        if (frames.Any(g => !d.Ram.ContainsKey(g)))
        {
            return XenErrno.ENOENT;
        }

        var mirrors = Mirrors(d);
        var tables = mirrors.Select(m => m.Table.Clone()).ToArray();
        var poolFree = d.DefaultPoolFree;
        var arenaFree = d.ArenaFree;
        foreach (var gfn in frames)
        {
            for (var m = 0; m < mirrors.Count; m++)
            {
                var dfn = MirrorDfn(d, mirrors[m], gfn);
                if (tables[m].Frame(dfn) is { } frame && frame.Mfn == d.Ram[gfn]
                    && (mirrors[m].Number == 0 ? tables[m].SplitTo4K(dfn, ref poolFree) : tables[m].SplitTo4K(dfn, ref arenaFree)) != PtStatus.Ok)
                {
                    return XenErrno.ENOMEM;
                }
            }
        }

        foreach (var gfn in frames)
        {
            for (var m = 0; m < mirrors.Count; m++)
            {
                var dfn = MirrorDfn(d, mirrors[m], gfn);
                if (tables[m].Frame(dfn) is { } frame && frame.Mfn == d.Ram[gfn])
                {
                    var none = 0;
                    tables[m].UnmapRange(dfn, 1, ref none);
                }
            }

            d.Ram.Remove(gfn);
        }

        for (var m = 0; m < mirrors.Count; m++)
        {
            mirrors[m].Table = tables[m];
        }

        released = frames.Count;
        return null;
    }

    private static ulong MirrorDfn(ModelDomain d, ModelContext mirror, ulong gfn) => mirror.Number == 0 && d.IsPv ? d.Ram[gfn] : gfn;

    /// <summary>Context 0, then the identity contexts in number order.</summary>
    private static List<ModelContext> Mirrors(ModelDomain d) =>
        [d.Default, .. d.Contexts.Values.Where(c => c.Kind == ModelContextKind.Identity)];
}
