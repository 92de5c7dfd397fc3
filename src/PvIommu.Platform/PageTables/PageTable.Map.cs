using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace PvIommu.Platform.PageTables;

public sealed unsafe partial class PageTable<TFormat>
{
    /// <summary>
    /// Maps <paramref name="count"/> frames dfn.. → mfn.. (machine-contiguous), using leaves up to
    /// <paramref name="maxLeafLevel"/> (1: 4 KiB only, 2: also 2 MiB, 3: also 1 GiB) wherever
    /// dfn and mfn are aligned and the run is long enough, 4 KiB leaves elsewhere.
    /// </summary>
    /// <remarks>
    /// Frames are mapped in order; on failure the frames before the failing one stay mapped and
    /// <paramref name="done"/> counts them, so the caller can undo exactly those. A region
    /// already mapped by a smaller leaf is filled around with smaller leaves, never merged.
    /// </remarks>
    /// <returns><see cref="PtStatus.InUse"/> at the first mapped frame, <see cref="PtStatus.NoMemory"/> when a table page is refused.</returns>
    public PtStatus Map(ulong dfn, ulong mfn, ulong count, PteAccess access, int maxLeafLevel, out ulong done)
    {
        if ((access & PteAccess.ReadWrite) == 0)
        {
            throw new ArgumentException("a leaf must grant read or write", nameof(access));
        }

        if (count > MaxDfn + 1 || dfn > MaxDfn - (count - 1))
        {
            throw new ArgumentOutOfRangeException(nameof(count), "range beyond the table's width");
        }

        maxLeafLevel = Math.Clamp(maxLeafLevel, 1, PageLevel.MaxLeafLevel);
        done = 0;
        while (done < count)
        {
            var leafPage = CachedLeafTable(dfn + done);
            var status = leafPage >= 0
                ? MapInLeafTable(leafPage, dfn + done, mfn + done, count - done, access, out var n)
                : MapStep(dfn + done, mfn + done, count - done, access, maxLeafLevel, out n);
            done += n;
            _mappedFrames += (long)n;
            if (status != PtStatus.Ok)
            {
                return status;
            }
        }

        return PtStatus.Ok;
    }

    /// <summary>
    /// A fill of the cached level-1 table <paramref name="page"/> of dfn's region: the region's
    /// level-2 entry points at it, so a descent would end there whatever the run's length and
    /// alignment.
    /// </summary>
    private PtStatus MapInLeafTable(int page, ulong dfn, ulong mfn, ulong count, PteAccess access, out ulong done)
    {
        var words = _pool.Words(page);
        var slot = PageLevel.Index(dfn, 1);
        if (TFormat.IsPresent(words[slot]))
        {
            done = 0;
            return PtStatus.InUse;
        }

        done = Fill(page, words, slot, 1, mfn, count, access);
        return PtStatus.Ok;
    }

    /// <summary>One descent from the root, then a fill of consecutive slots in the table reached.</summary>
    private PtStatus MapStep(ulong dfn, ulong mfn, ulong count, PteAccess access, int maxLeaf, out ulong done)
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
            if (TFormat.IsPresent(e))
            {
                if (TFormat.IsLeaf(e, level))
                {
                    return PtStatus.InUse;
                }

                page = _pool.PageOf(TFormat.Address(e));
                continue;
            }

            var frames = PageLevel.Frames(level);
            if (level == 1 || (level <= maxLeaf && ((dfn | mfn) & (frames - 1)) == 0 && count >= frames))
            {
                done = Fill(page, words, i, level, mfn, count, access);
                return PtStatus.Ok;
            }

            if (!TryNewTable(out var child))
            {
                ReclaimUpward(path, slots, level);
                return PtStatus.NoMemory;
            }

            words[i] = TFormat.Table(_pool.MfnOf(child).Value, level);
            _pool.Used(page)++;
            _pteWrites++;
            page = child;
        }
    }

    /// <summary>
    /// Writes leaves into consecutive empty slots from <paramref name="first"/> while the run
    /// lasts: the inner loop that does what the format forces and nothing more, four slots at a
    /// time where it can.
    /// </summary>
    private ulong Fill(int page, ulong* words, int first, int level, ulong mfn, ulong count, PteAccess access)
    {
        var frames = PageLevel.Frames(level);
        var room = (ulong)(PageLevel.Entries - first);
        var want = count / frames;
        var slots = new Span<ulong>(words + first, (int)(want < room ? want : room));
        var template = TFormat.Leaf(0, level, access);
        var k = FillVectors(slots, template, mfn, frames);
        for (; k < slots.Length; k++)
        {
            if (TFormat.IsPresent(slots[k]))
            {
                break;
            }

            slots[k] = template | TFormat.AddressBits(mfn + ((ulong)k * frames));
        }

        _pool.Used(page) += (ushort)k;
        _pteWrites += k;
        return (ulong)k * frames;
    }

    /// <summary>
    /// The vector part of <see cref="Fill"/>: while four slots in a row are all empty, writes their
    /// four leaves with one store, the addresses stepping by <paramref name="frames"/>. Stops
    /// before the first group with a present entry and returns how many slots it wrote (a
    /// multiple of four); the scalar loop finishes the run and finds the entry.
    /// </summary>
    private static int FillVectors(Span<ulong> slots, ulong template, ulong mfn, ulong frames)
    {
        var groups = slots.Length / 4;
        if (!Vector256.IsHardwareAccelerated || groups == 0)
        {
            return 0;
        }

        // The address field is mfn << 12 within bits 51:12: adding to it stays exact unless the
        // run reaches past the field's top, which a vector add would carry into the flags.
        var lastSlot = (ulong)((groups * 4) - 1);
        var stride = TFormat.AddressBits(frames);
        if (TFormat.AddressBits(mfn + (lastSlot * frames)) != TFormat.AddressBits(mfn) + (lastSlot * stride))
        {
            return 0;
        }

        var leaves = Vector256.Create(template | TFormat.AddressBits(mfn)) + (Vector256.Create(0UL, 1, 2, 3) * stride);
        var step = Vector256.Create(4 * stride);
        var present = Vector256.Create(TFormat.PresentBits);
        ref var slot = ref MemoryMarshal.GetReference(slots);
        var k = 0;
        for (; k < groups * 4; k += 4)
        {
            if ((Vector256.LoadUnsafe(ref slot, (nuint)k) & present) != Vector256<ulong>.Zero)
            {
                break;
            }

            leaves.StoreUnsafe(ref slot, (nuint)k);
            leaves += step;
        }

        return k;
    }
}
