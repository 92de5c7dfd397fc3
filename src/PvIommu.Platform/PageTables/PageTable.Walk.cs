namespace PvIommu.Platform.PageTables;

public sealed unsafe partial class PageTable<TFormat>
{
    /// <summary>
    /// Finds the first mapped frame at or after <paramref name="fromDfn"/>, skipping empty
    /// slots and whole empty subtrees: how teardown and sync walk a sparse table.
    /// </summary>
    /// <param name="fromDfn">Where to start.</param>
    /// <param name="dfn">The first frame of the leaf found (a superpage's first frame if it starts before <paramref name="fromDfn"/>).</param>
    /// <param name="leaf">The leaf found.</param>
    public bool TryNextMapped(ulong fromDfn, out ulong dfn, out PtLeaf leaf)
    {
        if (fromDfn > MaxDfn)
        {
            // Past the last slot: the root index would wrap around to dfn 0.
            dfn = 0;
            leaf = default;
            return false;
        }

        return Next(_rootPage, Levels, fromDfn, 0, out dfn, out leaf);
    }

    /// <summary>
    /// Undoes splits: if the entry covering <paramref name="dfn"/> at <paramref name="level"/>
    /// is a table whose 512 entries are leaves (after collapsing them in turn) mapping one
    /// aligned, contiguous run with one access, it becomes that single leaf again and the table
    /// goes back to the pool. Translations are unchanged either way.
    /// </summary>
    public void Collapse(ulong dfn, int level)
    {
        var page = _rootPage;
        for (var l = Levels; l > level; l--)
        {
            var e = _pool.Words(page)[PageLevel.Index(dfn, l)];
            if (!TFormat.IsPresent(e) || TFormat.IsLeaf(e, l))
            {
                return;
            }

            page = _pool.PageOf(TFormat.Address(e));
        }

        CollapseSlot(page, level, PageLevel.Index(dfn, level), dfn & ~(PageLevel.Frames(level) - 1));
    }

    private bool CollapseSlot(int page, int level, int slot, ulong baseDfn)
    {
        var words = _pool.Words(page);
        var e = words[slot];
        if (!TFormat.IsPresent(e))
        {
            return false;
        }

        if (TFormat.IsLeaf(e, level))
        {
            return true;
        }

        var child = _pool.PageOf(TFormat.Address(e));
        var childWords = _pool.Words(child);
        var lower = level - 1;
        var step = PageLevel.Frames(lower);
        for (var i = 0; i < PageLevel.Entries; i++)
        {
            if (lower > 1 && !CollapseSlot(child, lower, i, baseDfn + ((ulong)i * step)))
            {
                return false;
            }
        }

        var first = childWords[0];
        if (!TFormat.IsPresent(first) || !TFormat.IsLeaf(first, lower) || (TFormat.Address(first) & (PageLevel.Frames(level) - 1)) != 0)
        {
            return false;
        }

        for (var i = 0; i < PageLevel.Entries; i++)
        {
            var c = childWords[i];
            if (!TFormat.IsPresent(c) || !TFormat.IsLeaf(c, lower) || TFormat.Access(c) != TFormat.Access(first)
                || TFormat.Address(c) != TFormat.Address(first) + ((ulong)i * step))
            {
                return false;
            }
        }

        words[slot] = TFormat.Leaf(TFormat.Address(first), level, TFormat.Access(first));
        GiveTable(child);
        _tablePages--;
        _pteWrites++;
        return true;
    }

    /// <summary>
    /// Splits whatever superpage maps <paramref name="dfn"/> down to 4 KiB leaves (the
    /// translations stay the same), so that unmapping that frame later needs no table page.
    /// </summary>
    /// <returns><see cref="PtStatus.NoMemory"/> when a split is refused (the splits done so far stay: they change no translation).</returns>
    public PtStatus SplitTo4K(ulong dfn)
    {
        var page = _rootPage;
        for (var level = Levels; level > 1; level--)
        {
            var words = _pool.Words(page);
            var i = PageLevel.Index(dfn, level);
            var e = words[i];
            if (!TFormat.IsPresent(e))
            {
                return PtStatus.NotMapped;
            }

            if (TFormat.IsLeaf(e, level))
            {
                if (!TrySplit(words, i, level, e, out page))
                {
                    return PtStatus.NoMemory;
                }

                continue;
            }

            page = _pool.PageOf(TFormat.Address(e));
        }

        return PtStatus.Ok;
    }

    private bool Next(int page, int level, ulong fromDfn, ulong tableBase, out ulong dfn, out PtLeaf leaf)
    {
        var words = _pool.Words(page);
        var frames = PageLevel.Frames(level);
        var first = fromDfn > tableBase ? PageLevel.Index(fromDfn, level) : 0;
        for (var i = first; i < PageLevel.Entries; i++)
        {
            var e = words[i];
            if (!TFormat.IsPresent(e))
            {
                continue;
            }

            var slotBase = tableBase + ((ulong)i * frames);
            if (TFormat.IsLeaf(e, level))
            {
                dfn = slotBase;
                leaf = new PtLeaf(TFormat.Address(e), TFormat.Access(e), level);
                return true;
            }

            if (Next(_pool.PageOf(TFormat.Address(e)), level - 1, fromDfn, slotBase, out dfn, out leaf))
            {
                return true;
            }
        }

        dfn = 0;
        leaf = default;
        return false;
    }

    /// <summary>
    /// Removes every mapping and returns every table page, the root included, to the pool; the
    /// table must not be used afterwards. Large contexts are better torn down in slices with
    /// <see cref="TryNextMapped"/> and <see cref="Unmap{TVisitor}"/> first.
    /// </summary>
    public void Destroy<TVisitor>(ref TVisitor visitor)
        where TVisitor : struct, ILeafVisitor
    {
        Release(_rootPage, Levels, 0, ref visitor);
        _mappedFrames = 0;
        _tablePages = 0;
    }

    private void Release<TVisitor>(int page, int level, ulong tableBase, ref TVisitor visitor)
        where TVisitor : struct, ILeafVisitor
    {
        var words = _pool.Words(page);
        var frames = PageLevel.Frames(level);
        for (var i = 0; i < PageLevel.Entries; i++)
        {
            var e = words[i];
            if (!TFormat.IsPresent(e))
            {
                continue;
            }

            var slotBase = tableBase + ((ulong)i * frames);
            if (TFormat.IsLeaf(e, level))
            {
                visitor.Removed(slotBase, TFormat.Address(e), frames, TFormat.Access(e));
            }
            else
            {
                Release(_pool.PageOf(TFormat.Address(e)), level - 1, slotBase, ref visitor);
            }
        }

        GiveTable(page);
    }
}
