using PvIommu.Hypervisor.Domains;
using PvIommu.Platform.PageTables;

namespace PvIommu.Hypervisor.Tests.Faults;

/// <summary>
/// What a failed call must not change, for one domain: its contexts (number, kind, devices,
/// every leaf, table pages), arena and context-0 pool use, where its devices are, its p2m, the
/// host's free frames, and what lookup_page says over the script's dfns.
/// </summary>
internal sealed record StateSnapshot(
    string Contexts,
    string TablePages,
    IReadOnlyDictionary<ushort, IReadOnlyList<(ulong Dfn, PtLeaf Leaf)>> Leaves,
    int ArenaInUse,
    int PoolInUse,
    string Devices,
    string Ram,
    ulong HeapFree,
    string Lookups)
{
    public static StateSnapshot Take(Host host, Domain domain, Func<string> lookups)
    {
        var iommu = domain.Iommu;
        var leaves = new Dictionary<ushort, IReadOnlyList<(ulong, PtLeaf)>>();
        foreach (var context in iommu.AllContexts)
        {
            var list = new List<(ulong, PtLeaf)>();
            var cursor = 0UL;
            while (cursor <= context.Table.MaxDfn && context.Table.TryNextMapped(cursor, out var dfn, out var leaf))
            {
                list.Add((dfn, leaf));
                cursor = dfn + PageLevel.Frames(leaf.Level);
            }

            leaves[context.Number] = list;
        }

        return new StateSnapshot(
            string.Join(" ", iommu.AllContexts.Select(c => $"{c.Number}:{c.Kind}:{c.State}[{string.Join(",", c.Devices)}]")),
            string.Join(" ", iommu.AllContexts.Select(c => $"{c.Number}:{c.TablePages}")),
            leaves,
            iommu.Arena?.InUse ?? 0,
            iommu.DefaultPool?.InUse ?? 0,
            string.Join(" ", domain.Devices.Select(d => $"{d}@{host.DeviceState(d)!.Value.Context.Number}")),
            string.Join(",", domain.P2m.Entries().Where(e => P2m.IsRam(e.Entry.Type)).Select(e => $"{e.Gfn:x}:{e.Entry.Mfn.Value:x}")),
            host.Heap.FreeFrames,
            lookups());
    }

    /// <summary>The 4 KiB frames a context maps: dfn → (mfn, rights).</summary>
    public Dictionary<ulong, (ulong Mfn, PteAccess Access)> Frames(ushort context)
    {
        var frames = new Dictionary<ulong, (ulong, PteAccess)>();
        foreach (var (dfn, leaf) in Leaves[context])
        {
            for (ulong i = 0; i < PageLevel.Frames(leaf.Level); i++)
            {
                frames[dfn + i] = (leaf.Mfn + i, leaf.Access);
            }
        }

        return frames;
    }

    /// <summary>
    /// The first difference from this state to <paramref name="other"/> ("this → other"), or null
    /// when equal. With <paramref name="progress"/> (a map or unmap that made partial progress)
    /// the tables, the arena and the lookups are left out: the caller compares the frames.
    /// </summary>
    public string? Diff(StateSnapshot other, bool progress = false)
    {
        static string? Field(string name, object a, object b) => Equals(a, b) ? null : $"{name}: {a} → {b}";
        return Field("contexts", Contexts, other.Contexts)
            ?? (progress ? null : LeafDiff(other))
            ?? (progress ? null : Field("table pages", TablePages, other.TablePages))
            ?? (progress ? null : Field("arena in use", ArenaInUse, other.ArenaInUse))
            ?? Field("pool in use", PoolInUse, other.PoolInUse)
            ?? Field("devices", Devices, other.Devices)
            ?? Field("p2m", Ram, other.Ram)
            ?? Field("heap free frames", HeapFree, other.HeapFree)
            ?? (progress ? null : Field("lookups", Lookups, other.Lookups));
    }

    private string? LeafDiff(StateSnapshot other)
    {
        foreach (var (number, list) in Leaves)
        {
            if (!other.Leaves.TryGetValue(number, out var theirs))
            {
                return $"context {number} is gone";
            }

            if (!list.SequenceEqual(theirs))
            {
                var (a, b) = list.Zip(theirs).FirstOrDefault(p => p.First != p.Second);
                return $"context {number}: {list.Count} → {theirs.Count} leaves, first difference at dfn {a.Dfn:x}: "
                    + $"L{a.Leaf.Level} mfn {a.Leaf.Mfn:x} {a.Leaf.Access} → dfn {b.Dfn:x} L{b.Leaf.Level} mfn {b.Leaf.Mfn:x} {b.Leaf.Access}";
            }
        }

        return null;
    }
}
