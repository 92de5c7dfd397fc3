using PvIommu.Abi;

namespace PvIommu.Guest;

/// <summary>
/// The driver's own record of a context's mappings, kept only when the hypervisor lacks
/// lookup_page (as Linux's io-pgtable-xen did from RFC v3): dfn → gfn per 4 KiB, 2 MiB and
/// 1 GiB page, as map_pages was asked. Unmapping part of a superpage splits it, as the
/// hypervisor does.
/// </summary>
internal sealed class ShadowTable
{
    private static readonly uint[] _sizes = [PageSizes.Size1G, PageSizes.Size2M, PageSizes.Size4K];
    private readonly Dictionary<ulong, ulong>[] _levels = [[], [], []];

    /// <summary>Records <paramref name="chunk"/> as mapped.</summary>
    public void Add(MapChunk chunk)
    {
        var level = Array.IndexOf(_sizes, chunk.Pgsize);
        var perPage = PageSizes.FramesPerPage(chunk.Pgsize);
        for (ulong i = 0; i < chunk.Pages; i++)
        {
            _levels[level][chunk.Dfn + (i * perPage)] = chunk.Gfn + (i * perPage);
        }
    }

    /// <summary>The gfn <paramref name="dfn"/> maps, if any.</summary>
    public bool TryLookup(ulong dfn, out ulong gfn)
    {
        for (var level = 0; level < _sizes.Length; level++)
        {
            var perPage = PageSizes.FramesPerPage(_sizes[level]);
            var start = dfn & ~(perPage - 1);
            if (_levels[level].TryGetValue(start, out var first))
            {
                gfn = first + (dfn - start);
                return true;
            }
        }

        gfn = 0;
        return false;
    }

    /// <summary>Forgets [<paramref name="dfn"/>, +<paramref name="frames"/>), splitting superpages it cuts.</summary>
    public void Remove(ulong dfn, ulong frames)
    {
        var end = dfn + frames;
        var p = dfn;
        while (p < end)
        {
            p = RemoveAt(p, end);
        }
    }

    /// <summary>Removes the page holding <paramref name="p"/> if the range covers it whole, else splits it; returns where to go on.</summary>
    private ulong RemoveAt(ulong p, ulong end)
    {
        for (var level = 0; level < _sizes.Length - 1; level++)
        {
            var perPage = PageSizes.FramesPerPage(_sizes[level]);
            var start = p & ~(perPage - 1);
            if (!_levels[level].Remove(start, out var gfn))
            {
                continue;
            }

            if (start == p && end - p >= perPage)
            {
                return p + perPage;
            }

            // Cut in part: re-record it as pages of the next size down, which the next turn of the loop finds.
            var smaller = PageSizes.FramesPerPage(_sizes[level + 1]);
            for (ulong i = 0; i < perPage; i += smaller)
            {
                _levels[level + 1][start + i] = gfn + i;
            }
        }

        _levels[^1].Remove(p);
        return p + 1;
    }
}
