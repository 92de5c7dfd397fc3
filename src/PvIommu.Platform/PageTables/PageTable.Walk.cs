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

        _pool.Give(page);
    }
}
