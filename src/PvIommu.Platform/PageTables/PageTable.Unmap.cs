using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace PvIommu.Platform.PageTables;

public sealed unsafe partial class PageTable<TFormat>
{
    /// <summary>
    /// Unmaps <paramref name="count"/> frames from <paramref name="dfn"/>, telling
    /// <paramref name="visitor"/> about every leaf removed. Part of a superpage is unmapped by
    /// splitting it into next-smaller leaves first (one table page per split). Tables left empty
    /// go back to the pool.
    /// </summary>
    /// <returns><see cref="PtStatus.NotMapped"/> at the first hole, <see cref="PtStatus.NoMemory"/> when a split is refused; <paramref name="done"/> counts the frames unmapped before.</returns>
    public PtStatus Unmap<TVisitor>(ulong dfn, ulong count, ref TVisitor visitor, out ulong done)
        where TVisitor : struct, ILeafVisitor
    {
        if (count > MaxDfn + 1 || dfn > MaxDfn - (count - 1))
        {
            throw new ArgumentOutOfRangeException(nameof(count), "range beyond the table's width");
        }

        done = 0;
        while (done < count)
        {
            var leafPage = CachedLeafTable(dfn + done);
            var status = leafPage >= 0 && _pool.Used(leafPage) > count - done
                ? UnmapInLeafTable(leafPage, dfn + done, count - done, ref visitor, out var n)
                : UnmapStep(dfn + done, count - done, ref visitor, out n);
            done += n;
            _mappedFrames -= (long)n;
            if (status != PtStatus.Ok)
            {
                return status;
            }
        }

        return PtStatus.Ok;
    }

    /// <summary>Unmaps without being told what was removed.</summary>
    public PtStatus Unmap(ulong dfn, ulong count, out ulong done)
    {
        var ignore = default(IgnoreLeaves);
        return Unmap(dfn, count, ref ignore, out done);
    }

    /// <summary>
    /// Clears leaves in the cached level-1 table <paramref name="page"/> of dfn's region, which
    /// holds more live entries than the run has frames: it cannot empty, so no table above it
    /// is reclaimed and the path to it is not needed (a run that could empty it takes the
    /// descent, which records the path).
    /// </summary>
    private PtStatus UnmapInLeafTable<TVisitor>(int page, ulong dfn, ulong count, ref TVisitor visitor, out ulong done)
        where TVisitor : struct, ILeafVisitor
    {
        var words = _pool.Words(page);
        var slot = PageLevel.Index(dfn, 1);
        if (!TFormat.IsPresent(words[slot]))
        {
            done = 0;
            return PtStatus.NotMapped;
        }

        done = Clear(words, slot, 1, dfn, count, ref visitor);
        _pool.Used(page) -= (ushort)done;
        return PtStatus.Ok;
    }

    private PtStatus UnmapStep<TVisitor>(ulong dfn, ulong count, ref TVisitor visitor, out ulong done)
        where TVisitor : struct, ILeafVisitor
    {
        Span<int> path = stackalloc int[MaxLevels + 1];
        Span<int> slots = stackalloc int[MaxLevels + 1];
        done = 0;
        var page = _rootPage;
        for (var level = Levels; ; level--)
        {
            if (level == 1)
            {
                CacheLeafTable(dfn, page);
            }

            var words = _pool.Words(page);
            var i = PageLevel.Index(dfn, level);
            path[level] = page;
            slots[level] = i;
            var e = words[i];
            if (!TFormat.IsPresent(e))
            {
                return PtStatus.NotMapped;
            }

            if (!TFormat.IsLeaf(e, level))
            {
                page = _pool.PageOf(TFormat.Address(e));
                continue;
            }

            var frames = PageLevel.Frames(level);
            if (level == 1 || ((dfn & (frames - 1)) == 0 && count >= frames))
            {
                done = Clear(words, i, level, dfn, count, ref visitor);
                _pool.Used(page) -= (ushort)(done / frames);
                ReclaimUpward(path, slots, level);
                return PtStatus.Ok;
            }

            if (!TrySplit(words, i, level, e, out page))
            {
                return PtStatus.NoMemory;
            }
        }
    }

    /// <summary>Clears consecutive present leaves from <paramref name="first"/> while the run lasts.</summary>
    private ulong Clear<TVisitor>(ulong* words, int first, int level, ulong dfn, ulong count, ref TVisitor visitor)
        where TVisitor : struct, ILeafVisitor
    {
        var frames = PageLevel.Frames(level);
        var room = (ulong)(PageLevel.Entries - first);
        var want = count / frames;
        var slots = new Span<ulong>(words + first, (int)(want < room ? want : room));
        var k = level == 1 ? ClearVectors(slots, dfn, ref visitor) : 0;
        for (; k < slots.Length; k++)
        {
            var e = slots[k];
            if (!TFormat.IsPresent(e) || !TFormat.IsLeaf(e, level))
            {
                break;
            }

            visitor.Removed(dfn + ((ulong)k * frames), TFormat.Address(e), frames, TFormat.Access(e));
            slots[k] = 0;
        }

        _pteWrites += k;
        return (ulong)k * frames;
    }

    /// <summary>
    /// The vector part of <see cref="Clear"/> for 4 KiB leaves (every present entry of a level-1
    /// table is a leaf): while four slots in a row are all present, tells the visitor about each
    /// and zeroes the four with one store. Stops before the first group with a hole and returns
    /// how many slots it cleared (a multiple of four); the scalar loop finishes the run.
    /// </summary>
    private static int ClearVectors<TVisitor>(Span<ulong> slots, ulong dfn, ref TVisitor visitor)
        where TVisitor : struct, ILeafVisitor
    {
        var groups = slots.Length / 4;
        if (!Vector256.IsHardwareAccelerated || groups == 0)
        {
            return 0;
        }

        var present = Vector256.Create(TFormat.PresentBits);
        ref var slot = ref MemoryMarshal.GetReference(slots);
        var k = 0;
        for (; k < groups * 4; k += 4)
        {
            var entries = Vector256.LoadUnsafe(ref slot, (nuint)k);
            if (Vector256.EqualsAny(entries & present, Vector256<ulong>.Zero))
            {
                break;
            }

            for (var j = 0; j < 4; j++)
            {
                var e = entries.GetElement(j);
                visitor.Removed(dfn + (ulong)(k + j), TFormat.Address(e), 1, TFormat.Access(e));
            }

            Vector256<ulong>.Zero.StoreUnsafe(ref slot, (nuint)k);
        }

        return k;
    }

    /// <summary>
    /// Replaces the superpage leaf <paramref name="leaf"/> at <paramref name="level"/> by a table
    /// of 512 next-smaller leaves with the same frames and rights.
    /// </summary>
    private bool TrySplit(ulong* words, int slot, int level, ulong leaf, out int child)
    {
        if (!TryNewTable(out child))
        {
            return false;
        }

        var lower = level - 1;
        var step = PageLevel.Frames(lower);
        var template = TFormat.Leaf(0, lower, TFormat.Access(leaf));
        var mfn = TFormat.Address(leaf);
        var entries = _pool.Words(child);
        for (var k = 0; k < PageLevel.Entries; k++)
        {
            entries[k] = template | TFormat.AddressBits(mfn + ((ulong)k * step));
        }

        _pool.Used(child) = PageLevel.Entries;
        words[slot] = TFormat.Table(_pool.MfnOf(child).Value, level);
        _pteWrites += PageLevel.Entries + 1;
        return true;
    }
}
