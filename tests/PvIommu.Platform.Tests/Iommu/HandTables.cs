using PvIommu.Platform.Memory;
using PvIommu.Platform.PageTables;

namespace PvIommu.Platform.Tests.Iommu;

/// <summary>
/// Page tables written by hand, one PTE at a time with the format's own Table/Leaf encoders,
/// so walker and DMA tests do not depend on the page-table engine. Table frames come from a
/// bump counter starting at <c>firstTableFrame</c>.
/// </summary>
internal sealed class HandTables<TFormat>
    where TFormat : struct, IPteFormat
{
    private readonly MachineMemory _memory;
    private ulong _nextFrame;

    public HandTables(MachineMemory memory, ulong firstTableFrame, int levels)
    {
        _memory = memory;
        _nextFrame = firstTableFrame;
        Levels = levels;
        Root = NewTable();
    }

    public Mfn Root { get; }

    public int Levels { get; }

    /// <summary>Writes a leaf for <paramref name="dfn"/> at <paramref name="leafLevel"/>, creating tables on the way.</summary>
    public void Map(ulong dfn, ulong mfn, int leafLevel, PteAccess access) =>
        _memory.Words(TableFor(dfn, leafLevel))[PageLevel.Index(dfn, leafLevel)] = TFormat.Leaf(mfn, leafLevel, access);

    /// <summary>Clears the leaf slot for <paramref name="dfn"/> at <paramref name="leafLevel"/>.</summary>
    public void Unmap(ulong dfn, int leafLevel) =>
        _memory.Words(TableFor(dfn, leafLevel))[PageLevel.Index(dfn, leafLevel)] = 0;

    /// <summary>The entry at <paramref name="level"/> on the path of <paramref name="dfn"/> (tables must exist down to it).</summary>
    public ref ulong Entry(ulong dfn, int level) => ref _memory.Words(TableFor(dfn, level))[PageLevel.Index(dfn, level)];

    private Mfn TableFor(ulong dfn, int targetLevel)
    {
        var table = Root;
        for (var level = Levels; level > targetLevel; level--)
        {
            var words = _memory.Words(table);
            var i = PageLevel.Index(dfn, level);
            if (!TFormat.IsPresent(words[i]))
            {
                words[i] = TFormat.Table(NewTable().Value, level);
            }

            table = new Mfn(TFormat.Address(words[i]));
        }

        return table;
    }

    private Mfn NewTable()
    {
        var mfn = new Mfn(_nextFrame++);
        _memory.Words(mfn);
        return mfn;
    }
}
