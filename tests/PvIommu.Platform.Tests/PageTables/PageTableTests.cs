using PvIommu.Platform.PageTables;

namespace PvIommu.Platform.Tests.PageTables;

public class PageTableTests
{
    [Fact]
    public void Map_RunAcrossTables_WalkerSeesEveryFrame()
    {
        var h = new Harness<VtdSecondLevel>();
        Assert.Equal(PtStatus.Ok, h.Table.Map(500, 9000, 600, PteAccess.ReadWrite, 1, out var done));
        Assert.Equal(600UL, done);
        for (ulong i = 0; i < 600; i++)
        {
            Assert.Equal(new PtLeaf(9000 + i, PteAccess.ReadWrite, 1), h.Walk(500 + i));
        }

        Assert.Null(h.Walk(499));
        Assert.Null(h.Walk(1100));
        Assert.Equal(600, h.Table.MappedFrames);
        Assert.Equal(h.CheckTables(), h.Table.TablePages);
    }

    [Fact]
    public void Map_AlignedRun_Uses2MAnd1GLeaves()
    {
        var h = new Harness<AmdV1>();
        const ulong OneG = 1 << 18;
        Assert.Equal(PtStatus.Ok, h.Table.Map(OneG, 3 * OneG, OneG + 512 + 3, PteAccess.Read, 3, out _));
        Assert.Equal(3, h.Walk(OneG + 77)!.Value.Level);
        Assert.Equal(3 * OneG + 77, h.Walk(OneG + 77)!.Value.Mfn);
        Assert.Equal(2, h.Walk(OneG + OneG + 5)!.Value.Level);
        Assert.Equal(1, h.Walk(OneG + OneG + 512 + 2)!.Value.Level);
        Assert.Null(h.Walk(OneG + OneG + 512 + 3));
    }

    [Fact]
    public void Map_MisalignedMfn_FallsBackTo4K()
    {
        var h = new Harness<VtdSecondLevel>();
        Assert.Equal(PtStatus.Ok, h.Table.Map(512, 513, 1024, PteAccess.ReadWrite, 3, out _));
        Assert.Equal(1, h.Walk(600)!.Value.Level);
    }

    [Fact]
    public void Map_OverExisting_StopsAtFirstMappedFrameAndCountsBefore()
    {
        var h = new Harness<VtdSecondLevel>();
        h.Table.Map(100, 1, 1, PteAccess.ReadWrite, 1, out _);
        Assert.Equal(PtStatus.InUse, h.Table.Map(90, 50, 20, PteAccess.ReadWrite, 1, out var done));
        Assert.Equal(10UL, done);
        Assert.Equal(11, h.Table.MappedFrames);
    }

    [Fact]
    public void Map_SuperpageOverSmallMapping_FillsAroundThenStops()
    {
        var h = new Harness<VtdSecondLevel>();
        h.Table.Map(512 + 7, 1, 1, PteAccess.ReadWrite, 1, out _);
        Assert.Equal(PtStatus.InUse, h.Table.Map(512, 1024, 512, PteAccess.ReadWrite, 2, out var done));
        Assert.Equal(7UL, done);
        Assert.Equal(1, h.Walk(512)!.Value.Level);
    }

    [Fact]
    public void Map_IntoSuperpage_IsInUse()
    {
        var h = new Harness<VtdSecondLevel>();
        h.Table.Map(512, 1024, 512, PteAccess.ReadWrite, 2, out _);
        Assert.Equal(PtStatus.InUse, h.Table.Map(700, 5, 1, PteAccess.ReadWrite, 1, out var done));
        Assert.Equal(0UL, done);
    }

    [Fact]
    public void Unmap_PartOfSuperpage_SplitsAndKeepsTheRest()
    {
        var h = new Harness<VtdSecondLevel>();
        const ulong OneG = 1 << 18;
        h.Table.Map(OneG, OneG, OneG, PteAccess.ReadWrite, 3, out _);
        var before = h.Pool.InUse;
        var recorder = default(Recorder);
        Assert.Equal(PtStatus.Ok, h.Table.Unmap(OneG + 1000, 3, ref recorder, out var done));
        Assert.Equal(3UL, done);
        Assert.Equal([(OneG + 1000, OneG + 1000, 1UL), (OneG + 1001, OneG + 1001, 1UL), (OneG + 1002, OneG + 1002, 1UL)], recorder.Leaves);
        Assert.Equal(before + 2, h.Pool.InUse); // the 1G leaf became a table of 2M leaves, one of which became 4K leaves
        Assert.Equal(2, h.Walk(OneG)!.Value.Level);
        Assert.Equal(1, h.Walk(OneG + 999)!.Value.Level);
        Assert.Null(h.Walk(OneG + 1001));
        Assert.Equal((long)OneG - 3, h.Table.MappedFrames);
    }

    [Fact]
    public void Unmap_WholeSuperpage_ClearsLeafWithoutSplit()
    {
        var h = new Harness<AmdV1>();
        h.Table.Map(1024, 2048, 512, PteAccess.ReadWrite, 2, out _);
        var recorder = default(Recorder);
        Assert.Equal(PtStatus.Ok, h.Table.Unmap(1024, 512, ref recorder, out _));
        Assert.Equal([(1024UL, 2048UL, 512UL)], recorder.Leaves);
        Assert.Equal(1, h.Pool.InUse);
    }

    [Fact]
    public void Unmap_Hole_StopsWithCount()
    {
        var h = new Harness<VtdSecondLevel>();
        h.Table.Map(10, 10, 5, PteAccess.ReadWrite, 1, out _);
        Assert.Equal(PtStatus.NotMapped, h.Table.Unmap(10, 8, out var done));
        Assert.Equal(5UL, done);
    }

    [Fact]
    public void UnmapEverything_LeavesOnlyTheRoot()
    {
        var h = new Harness<VtdSecondLevel>(poolPages: 64, levels: 5);
        h.Table.Map(0x1234_5678, 0x10, 3000, PteAccess.Write, 2, out _);
        Assert.True(h.Pool.InUse > 1);
        Assert.Equal(PtStatus.Ok, h.Table.Unmap(0x1234_5678, 3000, out _));
        Assert.Equal(1, h.Pool.InUse);
        Assert.Equal(1, h.Table.TablePages);
        Assert.True(h.Table.IsEmpty);
    }

    [Fact]
    public void Map_PoolExhausted_ReturnsNoMemoryAndLeavesNoEmptyTable()
    {
        var h = new Harness<VtdSecondLevel>(poolPages: 4);
        // root + L3 + L2 + L1 = 4 pages: the first 512-frame table fills, the next needs a 5th page.
        Assert.Equal(PtStatus.NoMemory, h.Table.Map(0, 0, 1024, PteAccess.ReadWrite, 1, out var done));
        Assert.Equal(512UL, done);
        Assert.Equal(h.CheckTables(), h.Pool.InUse);
    }

    [Fact]
    public void Map_FirstTableRefused_ReclaimsTheTablesItMade()
    {
        var h = new Harness<VtdSecondLevel>(poolPages: 16);
        h.Pool.Faults.FailNth(3); // L3 and L2 are made, the L1 table is refused
        Assert.Equal(PtStatus.NoMemory, h.Table.Map(0, 0, 1, PteAccess.ReadWrite, 1, out var done));
        Assert.Equal(0UL, done);
        Assert.Equal(1, h.Pool.InUse);
        Assert.Equal(1, h.CheckTables());
    }

    [Fact]
    public void Unmap_SplitRefused_ChangesNothing()
    {
        var h = new Harness<VtdSecondLevel>(poolPages: 16);
        h.Table.Map(512, 512, 512, PteAccess.ReadWrite, 2, out _);
        h.Pool.Faults.FailNth(1);
        Assert.Equal(PtStatus.NoMemory, h.Table.Unmap(600, 1, out var done));
        Assert.Equal(0UL, done);
        Assert.Equal(2, h.Walk(600)!.Value.Level);
        Assert.Equal(512, h.Table.MappedFrames);
    }

    [Fact]
    public void TryNextMapped_SkipsEmptySubtrees()
    {
        var h = new Harness<VtdSecondLevel>();
        h.Table.Map(5, 5, 1, PteAccess.ReadWrite, 1, out _);
        h.Table.Map(1UL << 30, 7, 1, PteAccess.Read, 1, out _);
        Assert.True(h.Table.TryNextMapped(0, out var dfn, out _));
        Assert.Equal(5UL, dfn);
        Assert.True(h.Table.TryNextMapped(6, out dfn, out var leaf));
        Assert.Equal(1UL << 30, dfn);
        Assert.Equal(7UL, leaf.Mfn);
        Assert.False(h.Table.TryNextMapped((1UL << 30) + 1, out _, out _));
    }

    [Fact]
    public void Destroy_ReportsEveryLeafAndReturnsEveryPage()
    {
        var h = new Harness<AmdV1>();
        h.Table.Map(0, 0, 700, PteAccess.ReadWrite, 2, out _);
        h.Table.Map(1 << 20, 1 << 20, 512, PteAccess.ReadWrite, 2, out _);
        var recorder = default(Recorder);
        h.Table.Destroy(ref recorder);
        Assert.Equal(700UL + 512, recorder.Leaves.Aggregate(0UL, (s, r) => s + r.Frames));
        Assert.Equal(0, h.Pool.InUse);
    }

    /// <summary>
    /// Lookups agree with the hardware-style walk over the PTE bytes for every table depth, on a
    /// pool in one block (the walk adds an entry's address to the pool's bias) and on a scattered
    /// one (the walk reads page pointers): 4 KiB, 2 MiB and 1 GiB leaves, holes at every level.
    /// </summary>
    [Theory]
    [InlineData(3, false)]
    [InlineData(4, false)]
    [InlineData(5, false)]
    [InlineData(3, true)]
    [InlineData(4, true)]
    [InlineData(5, true)]
    public void TryLookup_AgreesWithWalk_ForEveryDepthAndPoolLayout(int levels, bool scattered)
    {
        var h = new Harness<VtdSecondLevel>(poolPages: 64, levels: levels, scattered: scattered);
        Assert.Equal(PtStatus.Ok, h.Table.Map(0x40000, 0x80000, 1UL << 18, PteAccess.ReadWrite, 3, out _)); // one 1 GiB leaf
        Assert.Equal(PtStatus.Ok, h.Table.Map(0x200, 0x1400, 512, PteAccess.Read, 2, out _)); // one 2 MiB leaf
        Assert.Equal(PtStatus.Ok, h.Table.Map(0x7, 0x123, 3, PteAccess.Write | PteAccess.Cache, 1, out _)); // 4 KiB leaves
        var high = h.Table.MaxDfn; // the top of the width: a path of its own at every level
        Assert.Equal(PtStatus.Ok, h.Table.Map(high, 0x999, 1, PteAccess.ReadWrite, 1, out _));
        ulong[] probes = [0, 6, 7, 9, 10, 0x1FF, 0x200, 0x3FF, 0x400, 0x3FFFF, 0x40000, 0x40000 + 0x12345, 0x7FFFF, 0x80000, high - 1, high];
        foreach (var dfn in probes)
        {
            var found = h.Table.TryLookup(dfn, out var leaf);
            var walk = h.Walk(dfn);
            Assert.Equal(walk.HasValue, found);
            if (walk is { } w)
            {
                Assert.Equal(w.Mfn, leaf.Mfn);
                Assert.Equal(w.Level, leaf.Level);
                Assert.Equal(w.Access, leaf.Access);
            }
        }
    }

    [Fact]
    public void Map_BeyondWidth_Throws()
    {
        var h = new Harness<VtdSecondLevel>();
        Assert.Throws<ArgumentOutOfRangeException>(() => h.Table.Map(h.Table.MaxDfn, 0, 2, PteAccess.Read, 1, out _));
        Assert.Throws<ArgumentException>(() => h.Table.Map(0, 0, 1, PteAccess.Cache, 1, out _));
    }
}
