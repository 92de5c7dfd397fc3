using PvIommu.Platform.Memory;
using PvIommu.Platform.PageTables;

namespace PvIommu.Platform.Tests.PageTables;

/// <summary>A memory, a pool and a table, plus an independent reference walk over the PTE bytes.</summary>
internal sealed class Harness<TFormat>
    where TFormat : struct, IPteFormat
{
    public const ulong PoolMfn = 0x100000;

    /// <param name="poolPages">Pages in the pool.</param>
    /// <param name="levels">Levels of the table.</param>
    /// <param name="scattered">Write (then scrub) the pool's last frame before the pool exists, so
    /// the pool cannot have one contiguous block and its walks go through its page pointers.</param>
    public Harness(int poolPages = 512, int levels = 4, bool scattered = false)
    {
        Memory = new MachineMemory(PoolMfn + (ulong)poolPages);
        if (scattered)
        {
            var last = new Mfn(PoolMfn + (ulong)poolPages - 1);
            Memory.Write(last, 0, [1]);
            Memory.Scrub(last);
        }

        Pool = new TablePool(Memory, new Mfn(PoolMfn), poolPages);
        Assert.Equal(!scattered, Pool.IsContiguous);
        Assert.True(PageTable.TryCreate<TFormat>(Pool, levels, out var table));
        Table = table;
    }

    public MachineMemory Memory { get; }

    public TablePool Pool { get; }

    public PageTable<TFormat> Table { get; }

    /// <summary>Walks the table as hardware does, from the bytes in machine memory, ANDing rights.</summary>
    public PtLeaf? Walk(ulong dfn)
    {
        var table = Table.Root.Value;
        var rights = PteAccess.ReadWrite | PteAccess.Cache;
        for (var level = Table.Levels; level >= 1; level--)
        {
            var e = Memory.ReadWord(new Mfn(table), (int)((dfn >> (9 * (level - 1))) & 511));
            if (!TFormat.IsPresent(e))
            {
                return null;
            }

            if (TFormat.IsLeaf(e, level))
            {
                rights &= TFormat.Access(e) | PteAccess.Cache;
                var cache = TFormat.Access(e) & PteAccess.Cache;
                return new PtLeaf(TFormat.Address(e) + (dfn & ((1UL << (9 * (level - 1))) - 1)), (rights & PteAccess.ReadWrite) | cache, level);
            }

            rights &= TFormat.Access(e) | PteAccess.Cache;
            table = TFormat.Address(e);
        }

        throw new InvalidOperationException("walk fell off level 1");
    }

    /// <summary>Counts reachable tables and checks none but the root is empty (the reclaim invariant).</summary>
    public int CheckTables()
    {
        return Count(Table.Root.Value, Table.Levels, isRoot: true);
    }

    private int Count(ulong mfn, int level, bool isRoot)
    {
        var tables = 1;
        var live = 0;
        for (var i = 0; i < 512; i++)
        {
            var e = Memory.ReadWord(new Mfn(mfn), i);
            if (!TFormat.IsPresent(e))
            {
                continue;
            }

            live++;
            if (!TFormat.IsLeaf(e, level))
            {
                Assert.True(Pool.Owns(new Mfn(TFormat.Address(e))), "a table entry points outside the pool");
                tables += Count(TFormat.Address(e), level - 1, isRoot: false);
            }
        }

        Assert.True(isRoot || live > 0, $"empty table at level {level} was not reclaimed");
        return tables;
    }
}

/// <summary>Records what an unmap removed.</summary>
internal struct Recorder : ILeafVisitor
{
    public List<(ulong Dfn, ulong Mfn, ulong Frames)> Leaves;

    public void Removed(ulong dfn, ulong mfn, ulong frames, PteAccess access) => (Leaves ??= []).Add((dfn, mfn, frames));
}
