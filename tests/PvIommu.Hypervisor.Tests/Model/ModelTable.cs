using PvIommu.Platform.PageTables;

namespace PvIommu.Hypervisor.Tests.Model;

/// <summary>One leaf of a model table: its level, first machine frame, first gfn and rights.</summary>
/// <param name="Level">1: 4 KiB, 2: 2 MiB, 3: 1 GiB.</param>
/// <param name="Mfn">The first machine frame.</param>
/// <param name="Gfn">The first gfn as lookup_page reports it (the M2P of the frames while mapped).</param>
/// <param name="Access">What a device may do.</param>
internal readonly record struct ModelLeaf(int Level, ulong Mfn, ulong Gfn, PteAccess Access)
{
    public ulong Frames => PageLevel.Frames(Level);
}

/// <summary>
/// A plain model of one context's page table: its leaves by first dfn, and the live-entry count
/// of every non-root table, so the number of table pages (and so the arena's use) is known
/// exactly. It follows the engine's rules as spec §3 states them: the largest leaf that fits
/// where dfn and mfn are aligned, the run long enough and the slot empty; a table exists while
/// it holds an entry; a table page is taken per missing level; part of a superpage is split
/// (one page) before it is unmapped; a whole leaf the range covers is removed without a split.
/// </summary>
/// <remarks>
/// <code>
///  tables: (level T, dfn >> 9T) → live entries, for T = 1 .. levels-1 (the root is not counted)
///  a leaf of level L is an entry of table (L, dfn >> 9L); a table of level T one of (T+1, ...)
/// </code>
/// </remarks>
internal sealed class ModelTable
{
    private readonly int _levels;
    private readonly Dictionary<ulong, ModelLeaf> _leaves;
    private readonly Dictionary<(int Level, ulong Index), int> _tables;

    public ModelTable(int levels)
        : this(levels, [], [], 0)
    {
    }

    private ModelTable(int levels, Dictionary<ulong, ModelLeaf> leaves, Dictionary<(int, ulong), int> tables, long mapped)
    {
        _levels = levels;
        _leaves = leaves;
        _tables = tables;
        MappedFrames = mapped;
    }

    /// <summary>Table pages, the root included.</summary>
    public int Pages => 1 + _tables.Count;

    /// <summary>4 KiB frames mapped.</summary>
    public long MappedFrames { get; private set; }

    /// <summary>Leaves by first dfn.</summary>
    public IReadOnlyDictionary<ulong, ModelLeaf> Leaves => _leaves;

    public ModelTable Clone() => new(_levels, new(_leaves), new(_tables), MappedFrames);

    /// <summary>The leaf covering <paramref name="dfn"/>, with its first dfn.</summary>
    public bool TryFind(ulong dfn, out ulong first, out ModelLeaf leaf)
    {
        for (var level = 1; level <= PageLevel.MaxLeafLevel; level++)
        {
            first = dfn & ~(PageLevel.Frames(level) - 1);
            if (_leaves.TryGetValue(first, out leaf) && leaf.Level == level)
            {
                return true;
            }
        }

        first = 0;
        leaf = default;
        return false;
    }

    public bool IsMapped(ulong dfn) => TryFind(dfn, out _, out _);

    /// <summary>The frame <paramref name="dfn"/> reaches: (mfn, gfn, rights).</summary>
    public (ulong Mfn, ulong Gfn, PteAccess Access)? Frame(ulong dfn) =>
        TryFind(dfn, out var first, out var leaf) ? (leaf.Mfn + (dfn - first), leaf.Gfn + (dfn - first), leaf.Access) : null;

    /// <summary>Adds a leaf read back from a real table (building the model from the booted host).</summary>
    public void Adopt(ulong first, ModelLeaf leaf) => AddLeaf(first, leaf);

    /// <summary>
    /// Table.Map of one machine-contiguous run, leaf by leaf: InUse at the first mapped frame,
    /// NoMemory when the missing tables outnumber <paramref name="free"/> (which it decrements).
    /// </summary>
    public (PtStatus Status, ulong Done) MapRun(ulong dfn, ulong mfn, ulong gfn, ulong count, PteAccess access, ref int free)
    {
        ulong done = 0;
        while (done < count)
        {
            var p = dfn + done;
            var m = mfn + done;
            if (IsMapped(p))
            {
                return (PtStatus.InUse, done);
            }

            var level = 1;
            for (var l = PageLevel.MaxLeafLevel; l >= 2; l--)
            {
                var frames = PageLevel.Frames(l);
                if (((p | m) & (frames - 1)) == 0 && count - done >= frames && RegionEmpty(p, l))
                {
                    level = l;
                    break;
                }
            }

            var need = TablesNeeded(p, level);
            if (need > free)
            {
                return (PtStatus.NoMemory, done);
            }

            free -= need;
            AddLeaf(p, new ModelLeaf(level, m, gfn + done, access));
            done += PageLevel.Frames(level);
        }

        return (PtStatus.Ok, done);
    }

    /// <summary>
    /// Unmaps <paramref name="count"/> frames: NotMapped at the first hole; a leaf the range
    /// covers whole goes at once, one it covers in part is split first (a table page from
    /// <paramref name="free"/>, NoMemory when none).
    /// </summary>
    public (PtStatus Status, ulong Done) UnmapRange(ulong dfn, ulong count, ref int free)
    {
        ulong done = 0;
        while (done < count)
        {
            var p = dfn + done;
            if (!TryFind(p, out var first, out var leaf))
            {
                return (PtStatus.NotMapped, done);
            }

            if (leaf.Level == 1 || (p == first && count - done >= leaf.Frames))
            {
                RemoveLeaf(first);
                done += leaf.Frames;
                continue;
            }

            if (free == 0)
            {
                return (PtStatus.NoMemory, done);
            }

            free--;
            Split(first);
        }

        return (PtStatus.Ok, done);
    }

    /// <summary>Splits the superpage covering <paramref name="dfn"/> down to 4 KiB leaves, a table page per level.</summary>
    public PtStatus SplitTo4K(ulong dfn, ref int free)
    {
        while (TryFind(dfn, out var first, out var leaf) && leaf.Level > 1)
        {
            if (free == 0)
            {
                return PtStatus.NoMemory;
            }

            free--;
            Split(first);
        }

        return PtStatus.Ok;
    }

    /// <summary>Removes every leaf: the table is back to its root.</summary>
    public void Clear()
    {
        _leaves.Clear();
        _tables.Clear();
        MappedFrames = 0;
    }

    /// <summary>Whether no leaf covers any frame of the aligned level-<paramref name="level"/> region at <paramref name="first"/>.</summary>
    private bool RegionEmpty(ulong first, int level)
    {
        for (var l = level; l <= PageLevel.MaxLeafLevel; l++)
        {
            if (_leaves.TryGetValue(first & ~(PageLevel.Frames(l) - 1), out var leaf) && leaf.Level == l)
            {
                return false;
            }
        }

        return !_tables.ContainsKey((level - 1, first >> (PageLevel.Bits * (level - 1))));
    }

    /// <summary>Tables missing on the path to a leaf of <paramref name="level"/> at <paramref name="dfn"/>.</summary>
    private int TablesNeeded(ulong dfn, int level)
    {
        var need = 0;
        for (var t = level; t < _levels; t++)
        {
            if (!_tables.ContainsKey((t, dfn >> (PageLevel.Bits * t))))
            {
                need++;
            }
        }

        return need;
    }

    private void AddLeaf(ulong first, ModelLeaf leaf)
    {
        _leaves.Add(first, leaf);
        AddEntry(leaf.Level, first);
        MappedFrames += (long)leaf.Frames;
    }

    private void RemoveLeaf(ulong first)
    {
        var leaf = _leaves[first];
        _leaves.Remove(first);
        RemoveEntry(leaf.Level, first);
        MappedFrames -= (long)leaf.Frames;
    }

    /// <summary>Replaces a superpage by a table of 512 next-smaller leaves (the table is one more page).</summary>
    private void Split(ulong first)
    {
        var leaf = _leaves[first];
        _leaves.Remove(first);
        var step = PageLevel.Frames(leaf.Level - 1);
        for (ulong k = 0; k < PageLevel.Entries; k++)
        {
            var sub = first + (k * step);
            _leaves.Add(sub, new ModelLeaf(leaf.Level - 1, leaf.Mfn + (k * step), leaf.Gfn + (k * step), leaf.Access));
            AddEntry(leaf.Level - 1, sub);
        }

        RemoveEntry(leaf.Level, first);
    }

    private void AddEntry(int level, ulong dfn)
    {
        if (level >= _levels)
        {
            return;
        }

        var key = (level, dfn >> (PageLevel.Bits * level));
        if (_tables.TryGetValue(key, out var n))
        {
            _tables[key] = n + 1;
            return;
        }

        _tables[key] = 1;
        AddEntry(level + 1, dfn);
    }

    private void RemoveEntry(int level, ulong dfn)
    {
        if (level >= _levels)
        {
            return;
        }

        var key = (level, dfn >> (PageLevel.Bits * level));
        var n = _tables[key] - 1;
        if (n > 0)
        {
            _tables[key] = n;
            return;
        }

        _tables.Remove(key);
        RemoveEntry(level + 1, dfn);
    }
}
