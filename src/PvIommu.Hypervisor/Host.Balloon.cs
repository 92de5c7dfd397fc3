using PvIommu.Abi;
using PvIommu.Hypervisor.Domains;
using PvIommu.Hypervisor.Iommu;
using PvIommu.Hypervisor.Toolstack;
using PvIommu.Platform.Memory;
using PvIommu.Platform.PageTables;

namespace PvIommu.Hypervisor;

/// <summary>
/// Ballooning (Xen's populate_physmap / decrease_reservation): RAM enters and leaves a domain,
/// and every context that mirrors the p2m — context 0 and ALLOC_identity contexts — follows.
/// </summary>
public sealed partial class Host
{
    /// <summary>
    /// Gives the domain <paramref name="count"/> new frames. A PVH domain gets them at
    /// gfn <paramref name="firstGfn"/>.. (which must be unbacked); a PV domain at gfn = mfn.
    /// All or nothing.
    /// </summary>
    /// <param name="domid">The domain.</param>
    /// <param name="firstGfn">Where a PVH domain wants them (ignored for PV).</param>
    /// <param name="count">Frames.</param>
    /// <param name="gfns">The gfns that now hold RAM.</param>
    public ToolstackResult BalloonIn(ushort domid, ulong firstGfn, ulong count, out IReadOnlyList<ulong> gfns)
    {
        gfns = [];
        if (FindDomain(domid) is not { } domain)
        {
            return ToolstackResult.Fail(XenErrno.ENOENT, $"no domain {domid}");
        }

        lock (domain.Lock)
        {
            if (domain.Kind == DomainKind.Pvh)
            {
                for (ulong i = 0; i < count; i++)
                {
                    if (domain.P2m.Lookup(firstGfn + i).IsValid)
                    {
                        return ToolstackResult.Fail(XenErrno.EBUSY, $"gfn {firstGfn + i:x} is backed already");
                    }
                }
            }

            if (!Heap.TryAllocate(count, out var extents))
            {
                return ToolstackResult.Fail(XenErrno.ENOMEM, $"the heap has {Heap.FreeFrames} free frames, {count} asked");
            }

            // Every frame joins the p2m first; then the mirrors follow. A mirror that cannot be
            // written undoes the whole call, which frees every frame it took.
            var added = new List<(ulong Gfn, Mfn Mfn)>();
            foreach (var (first, n) in extents)
            {
                for (ulong i = 0; i < n; i++)
                {
                    var mfn = first + i;
                    var gfn = domain.Kind == DomainKind.Pv ? mfn.Value : firstGfn + (ulong)added.Count;
                    Frames.Assign(mfn, domain.Id, gfn);
                    domain.P2m.Set(gfn, new P2mEntry(mfn, P2mType.Ram));
                    added.Add((gfn, mfn));
                }
            }

            if (added.Any(a => !Mirror(domain, a.Gfn, a.Mfn)))
            {
                BalloonOutLocked(domain, added.Select(a => a.Gfn), out _);
                return ToolstackResult.Fail(XenErrno.ENOMEM, "no table page to mirror the new RAM into context 0 or an identity context");
            }

            gfns = added.Select(a => a.Gfn).ToList();
            return ToolstackResult.Ok;
        }
    }

    /// <summary>
    /// Takes RAM away from the domain. Its mirrors (context 0, identity contexts) drop the frame
    /// at once, invalidated; mappings the guest made in paging contexts keep their reference, so
    /// the frame is freed only when the last of them is unmapped.
    /// </summary>
    public ToolstackResult BalloonOut(ushort domid, IEnumerable<ulong> gfns, out int released)
    {
        released = 0;
        if (FindDomain(domid) is not { } domain)
        {
            return ToolstackResult.Fail(XenErrno.ENOENT, $"no domain {domid}");
        }

        lock (domain.Lock)
        {
            return BalloonOutLocked(domain, gfns, out released);
        }
    }

    /// <summary>
    /// All or nothing: first every check, and every superpage of a mirror that maps one of the
    /// frames is split to 4 KiB leaves (a split changes no translation, so a refused split
    /// leaves the domain as it was); then the frames go, which can no longer fail.
    /// </summary>
    private ToolstackResult BalloonOutLocked(Domain domain, IEnumerable<ulong> gfns, out int released)
    {
        released = 0;
        var frames = new List<(ulong Gfn, Mfn Mfn)>();
        foreach (var gfn in gfns.Distinct())
        {
            var entry = domain.P2m.Lookup(gfn);
            if (!P2m.IsRam(entry.Type))
            {
                return ToolstackResult.Fail(XenErrno.ENOENT, $"gfn {gfn:x} is not RAM of {domain}");
            }

            frames.Add((gfn, entry.Mfn));
        }

        var splits = new List<(IommuContext Context, ulong Dfn, int Level)>();
        foreach (var (gfn, mfn) in frames)
        {
            foreach (var (context, dfn) in Mirrors(domain, gfn, mfn))
            {
                if (context.Table.TryLookup(dfn, out var leaf) && leaf.Mfn == mfn.Value && leaf.Level > 1)
                {
                    splits.Add((context, dfn, leaf.Level));
                    if (context.Table.SplitTo4K(dfn) != PtStatus.Ok)
                    {
                        // Put the superpages back as they were: the call changes nothing.
                        for (var i = splits.Count - 1; i >= 0; i--)
                        {
                            splits[i].Context.Table.Collapse(splits[i].Dfn, splits[i].Level);
                        }

                        return ToolstackResult.Fail(XenErrno.ENOMEM, $"no table page to split the superpage mapping gfn {gfn:x}");
                    }
                }
            }
        }

        var puts = new List<Mfn>();
        foreach (var (gfn, mfn) in frames)
        {
            foreach (var (context, dfn) in Mirrors(domain, gfn, mfn))
            {
                if (context.Table.TryLookup(dfn, out var leaf) && leaf.Mfn == mfn.Value)
                {
                    if (UnmapFrames(context, dfn, 1, out _, puts) != PtStatus.Ok)
                    {
                        throw new InvalidOperationException($"unmapping a 4 KiB leaf at dfn {dfn:x} failed");
                    }

                    Hardware.FlushPages(context.HardwareDomainId, dfn, 1);
                }
            }

            domain.P2m.Remove(gfn);
            puts.Add(mfn);
            released++;
        }

        PutRefs(puts);
        return ToolstackResult.Ok;
    }

    /// <summary>Maps a new RAM frame into every context that mirrors the p2m (where its dfn is free).</summary>
    private bool Mirror(Domain domain, ulong gfn, Mfn mfn)
    {
        foreach (var (context, dfn) in Mirrors(domain, gfn, mfn))
        {
            if (!context.Table.TryLookup(dfn, out _) && MapRam(context, dfn, mfn, 1, PteAccess.ReadWrite, out _) != PtStatus.Ok)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The contexts that mirror the p2m, with the dfn each uses for <paramref name="gfn"/>.</summary>
    private static IEnumerable<(IommuContext Context, ulong Dfn)> Mirrors(Domain domain, ulong gfn, Mfn mfn)
    {
        if (domain.Iommu.Default is { } ctx0 && ctx0.Kind != ContextKind.DefaultBlocked)
        {
            yield return (ctx0, ctx0.Kind == ContextKind.DefaultIdentity ? mfn.Value : gfn);
        }

        foreach (var context in domain.Iommu.GuestContexts)
        {
            if (context.Kind == ContextKind.Identity && context.State == ContextState.Live)
            {
                yield return (context, gfn);
            }
        }
    }
}
