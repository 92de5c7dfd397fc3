using PvIommu.Abi;

namespace PvIommu.Guest;

/// <summary>One map_pages call of a plan: <see cref="Pages"/> pages of <see cref="Pgsize"/> bytes.</summary>
internal readonly record struct MapChunk(ulong Dfn, ulong Gfn, uint Pgsize, uint Pages)
{
    public ulong Frames => PageSizes.FramesPerPage(Pgsize) * Pages;
}

/// <summary>
/// Splits a map request into map_pages calls: one run per stretch of contiguous gfns (a PV
/// guest's frames are rarely machine-contiguous), and inside a run the largest page size the
/// capabilities offer where dfn and gfn are both aligned to it.
/// </summary>
/// <remarks>
/// A run at dfn 0x1ff, gfn 0x5ff, 1026 frames, with 2 MiB pages offered:
/// <code>
///   dfn 0x1ff   0x200          0x600   0x601
///   [4K × 1]    [2M × 2]       [4K × 1]
/// </code>
/// 4 KiB pages up to the first 2 MiB boundary, whole 2 MiB pages while 512 frames remain,
/// 4 KiB pages for the tail. When dfn and gfn differ modulo 2 MiB no superpage can ever fit,
/// and the run stays one 4 KiB call.
/// </remarks>
internal static class MapPlan
{
    private static readonly uint[] _superpages = [PageSizes.Size1G, PageSizes.Size2M];

    /// <summary>Adds the calls for frames dfn.. → <paramref name="gfns"/>, one run per contiguous stretch.</summary>
    public static void AddRuns(List<MapChunk> chunks, ulong dfn, ReadOnlySpan<ulong> gfns, uint pgsizeMask)
    {
        var i = 0;
        while (i < gfns.Length)
        {
            var j = i + 1;
            while (j < gfns.Length && gfns[j] == gfns[j - 1] + 1)
            {
                j++;
            }

            AddRun(chunks, dfn + (ulong)i, gfns[i], (ulong)(j - i), pgsizeMask);
            i = j;
        }
    }

    /// <summary>Adds the calls for one contiguous run of <paramref name="frames"/> frames.</summary>
    public static void AddRun(List<MapChunk> chunks, ulong dfn, ulong gfn, ulong frames, uint pgsizeMask)
    {
        while (frames > 0)
        {
            var size = PageSizes.Size4K;
            foreach (var s in _superpages)
            {
                var f = PageSizes.FramesPerPage(s);
                if ((pgsizeMask & s) != 0 && frames >= f && ((dfn | gfn) & (f - 1)) == 0)
                {
                    size = s;
                    break;
                }
            }

            var perPage = PageSizes.FramesPerPage(size);
            var pages = frames / perPage;

            // Stop where a larger page becomes possible: dfn and gfn agree modulo its size.
            foreach (var larger in _superpages)
            {
                var f = PageSizes.FramesPerPage(larger);
                if (larger > size && (pgsizeMask & larger) != 0 && ((dfn ^ gfn) & (f - 1)) == 0)
                {
                    pages = Math.Min(pages, (f - (dfn & (f - 1))) / perPage);
                }
            }

            pages = Math.Min(pages, uint.MaxValue);
            chunks.Add(new MapChunk(dfn, gfn, size, (uint)pages));
            var step = pages * perPage;
            dfn += step;
            gfn += step;
            frames -= step;
        }
    }
}
