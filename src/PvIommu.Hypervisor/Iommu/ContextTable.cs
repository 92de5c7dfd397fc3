using PvIommu.Hypervisor.Memory;
using PvIommu.Platform.Memory;
using PvIommu.Platform.PageTables;

namespace PvIommu.Hypervisor.Iommu;

/// <summary>
/// Drops the page reference of every RAM frame a removed leaf mapped. Frames that are not
/// host RAM (MMIO, reserved regions) were mapped without a reference and have none to drop.
/// </summary>
/// <remarks>
/// With <paramref name="deferred"/> the references are only collected: the caller drops them
/// after the IOTLB invalidation, so no frame is freed (and reused) while a device may still
/// hold a cached translation to it.
/// </remarks>
internal struct RefDropper(FrameTable frames, List<Mfn>? deferred = null) : ILeafVisitor
{
    /// <summary>References dropped (or collected).</summary>
    public long Dropped;

    public void Removed(ulong dfn, ulong mfn, ulong count, PteAccess access)
    {
        for (ulong i = 0; i < count; i++)
        {
            var frame = new Mfn(mfn + i);
            if (deferred is not null)
            {
                if (frames.CountOf(frame) > 0)
                {
                    deferred.Add(frame);
                    Dropped++;
                }
            }
            else if (frames.TryPutRef(frame))
            {
                Dropped++;
            }
        }
    }
}

/// <summary>A context's page table, whatever the hardware format.</summary>
internal interface IContextTable
{
    Mfn Root { get; }

    int Levels { get; }

    ulong MaxDfn { get; }

    int TablePages { get; }

    long MappedFrames { get; }

    long PteWrites { get; }

    PtStatus Map(ulong dfn, ulong mfn, ulong count, PteAccess access, int maxLeafLevel, out ulong done);

    PtStatus Unmap(ulong dfn, ulong count, ref RefDropper dropper, out ulong done);

    bool TryLookup(ulong dfn, out PtLeaf leaf);

    bool TryNextMapped(ulong fromDfn, out ulong dfn, out PtLeaf leaf);

    PtStatus SplitTo4K(ulong dfn);

    void Collapse(ulong dfn, int level);

    void Destroy(ref RefDropper dropper);
}

/// <summary>
/// The format-specific table behind <see cref="IContextTable"/>; what each operation writes is
/// added to the host's <paramref name="tally"/> (a destroy's clears are not: the context is gone).
/// </summary>
internal sealed class ContextTable<TFormat>(PageTable<TFormat> table, PteTally tally) : IContextTable
    where TFormat : struct, IPteFormat
{
    public Mfn Root => table.Root;

    public int Levels => table.Levels;

    public ulong MaxDfn => table.MaxDfn;

    public int TablePages => table.TablePages;

    public long MappedFrames => table.MappedFrames;

    public long PteWrites => table.PteWrites;

    public PtStatus Map(ulong dfn, ulong mfn, ulong count, PteAccess access, int maxLeafLevel, out ulong done)
    {
        var before = table.PteWrites;
        return Tallied(before, table.Map(dfn, mfn, count, access, maxLeafLevel, out done));
    }

    public PtStatus Unmap(ulong dfn, ulong count, ref RefDropper dropper, out ulong done)
    {
        var before = table.PteWrites;
        return Tallied(before, table.Unmap(dfn, count, ref dropper, out done));
    }

    public bool TryLookup(ulong dfn, out PtLeaf leaf) => table.TryLookup(dfn, out leaf);

    public bool TryNextMapped(ulong fromDfn, out ulong dfn, out PtLeaf leaf) => table.TryNextMapped(fromDfn, out dfn, out leaf);

    public PtStatus SplitTo4K(ulong dfn)
    {
        var before = table.PteWrites;
        return Tallied(before, table.SplitTo4K(dfn));
    }

    public void Collapse(ulong dfn, int level)
    {
        var before = table.PteWrites;
        table.Collapse(dfn, level);
        Tallied(before, PtStatus.Ok);
    }

    public void Destroy(ref RefDropper dropper) => table.Destroy(ref dropper);

    /// <summary>Adds what the table wrote since it had written <paramref name="before"/> entries to the host's tally; returns <paramref name="status"/>.</summary>
    private PtStatus Tallied(long before, PtStatus status)
    {
        tally.Add(table.PteWrites - before);
        return status;
    }
}

/// <summary>Makes context tables in the host's hardware format.</summary>
internal static class ContextTables
{
    /// <summary>An empty table whose root comes from <paramref name="pool"/>, counting its writes in <paramref name="tally"/>; null when the pool is empty.</summary>
    public static IContextTable? TryCreate(PageTableFormat format, int levels, TablePool pool, PteTally tally) => format switch
    {
        PageTableFormat.VtdSecondLevel => PageTable.TryCreate<VtdSecondLevel>(pool, levels, out var v) ? new ContextTable<VtdSecondLevel>(v, tally) : null,
        PageTableFormat.AmdV1 => PageTable.TryCreate<AmdV1>(pool, levels, out var a) ? new ContextTable<AmdV1>(a, tally) : null,
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "unknown format"),
    };
}
