using PvIommu.Abi;
using PvIommu.Abi.Structs;

namespace PvIommu.Guest.Hypercalls;

/// <summary>
/// Counts the IOTLB invalidations one trap owes, from the requests going in: ranges of one
/// context that touch are merged, as the hypervisor merges what a call or multicall owes
/// (spec §4.1).
/// </summary>
internal struct InvalidationTally
{
    private List<(ushort Ctx, ulong Dfn, ulong Frames)>? _ranges;

    /// <summary>Invalidations owed so far.</summary>
    public readonly int Count => _ranges?.Count ?? 0;

    /// <summary>Adds what <paramref name="op"/> with <paramref name="argument"/> will owe, if anything.</summary>
    public void Add(SubOp op, ReadOnlySpan<byte> argument)
    {
        switch (op)
        {
            case SubOp.MapPages:
                var map = MapPages.Read(argument);
                if ((map.MapFlags & MapFlags.NoFlush) == 0)
                {
                    Add(map.CtxNo, map.Dfn, Frames(map.Pgsize, map.NrPages));
                }

                break;
            case SubOp.UnmapPages:
                var unmap = UnmapPages.Read(argument);
                Add(unmap.CtxNo, unmap.Dfn, Frames(unmap.Pgsize, unmap.NrPages));
                break;
            case SubOp.FlushPages:
                var flush = FlushPages.Read(argument);
                Add(flush.CtxNo, flush.Dfn, Frames(flush.Pgsize, flush.NrPages));
                break;
        }
    }

    private static ulong Frames(uint pgsize, uint pages) =>
        PageSizes.IsSupported(pgsize) ? PageSizes.FramesPerPage(pgsize) * pages : 0;

    private void Add(ushort ctx, ulong dfn, ulong frames)
    {
        if (frames == 0)
        {
            return;
        }

        _ranges ??= [];
        for (var i = 0; i < _ranges.Count; i++)
        {
            var (c, start, count) = _ranges[i];
            if (c == ctx && dfn <= start + count && start <= dfn + frames)
            {
                var first = Math.Min(start, dfn);
                _ranges[i] = (c, first, Math.Max(start + count, dfn + frames) - first);
                return;
            }
        }

        _ranges.Add((ctx, dfn, frames));
    }
}
