using PvIommu.Platform.Iommu;
using PvIommu.Platform.Memory;
using PvIommu.Platform.PageTables;

namespace PvIommu.Platform.Tests.Iommu;

/// <summary>The walker over hand-built tables; run once per format by the derived classes.</summary>
public abstract class PageWalkerTests<TFormat>
    where TFormat : struct, IPteFormat
{
    private const ulong TableBase = 0x1000;
    private readonly MachineMemory _memory = new(1UL << 24);

    /// <summary>The same non-leaf entry with its write right removed (format-specific bits).</summary>
    protected abstract ulong WithoutWrite(ulong pte);

    [Theory]
    [InlineData(4)]
    [InlineData(5)]
    public void Walk_4KLeaf_FindsFrameInLevelsSteps(int levels)
    {
        var tables = new HandTables<TFormat>(_memory, TableBase, levels);
        var dfn = levels == 5 ? 0x1_2345_6789UL : 0x12_3456UL;
        tables.Map(dfn, 0xABCDE, 1, PteAccess.ReadWrite);

        var walk = PageWalker.Walk<TFormat>(_memory, tables.Root, levels, dfn);

        Assert.Equal(new PageWalk(true, new Mfn(0xABCDE), PteAccess.ReadWrite, 1, levels), walk);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(5)]
    public void Walk_2MLeaf_AddsOffsetInsideSuperpage(int levels)
    {
        var tables = new HandTables<TFormat>(_memory, TableBase, levels);
        tables.Map(0x400, 0x20_0000, 2, PteAccess.Read);

        var walk = PageWalker.Walk<TFormat>(_memory, tables.Root, levels, 0x400 + 0x1FF);

        Assert.True(walk.Found);
        Assert.Equal(new Mfn(0x20_0000 + 0x1FF), walk.Mfn);
        Assert.Equal(2, walk.Level);
        Assert.Equal(levels - 1, walk.Steps);
        Assert.Equal(PteAccess.Read, walk.Access);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(5)]
    public void Walk_1GLeaf_AddsOffsetInsideSuperpage(int levels)
    {
        var tables = new HandTables<TFormat>(_memory, TableBase, levels);
        const ulong LeafDfn = 3UL << 18;
        tables.Map(LeafDfn, 5UL << 18, 3, PteAccess.ReadWrite);

        var walk = PageWalker.Walk<TFormat>(_memory, tables.Root, levels, LeafDfn + 0x3_1234);

        Assert.True(walk.Found);
        Assert.Equal(new Mfn((5UL << 18) + 0x3_1234), walk.Mfn);
        Assert.Equal(3, walk.Level);
        Assert.Equal(levels - 2, walk.Steps);
    }

    [Fact]
    public void Walk_MissingLeaf_StopsAtItsLevel()
    {
        var tables = new HandTables<TFormat>(_memory, TableBase, 4);
        tables.Map(0x200, 0x999, 1, PteAccess.ReadWrite);

        var walk = PageWalker.Walk<TFormat>(_memory, tables.Root, 4, 0x201);

        Assert.Equal(PageWalk.NotPresent(1, 4), walk);
    }

    [Fact]
    public void Walk_EmptyRoot_StopsAfterOneStep()
    {
        var tables = new HandTables<TFormat>(_memory, TableBase, 4);

        Assert.Equal(PageWalk.NotPresent(4, 1), PageWalker.Walk<TFormat>(_memory, tables.Root, 4, 0x1234));
    }

    [Fact]
    public void Walk_NonLeafWithoutWrite_AndsRightsAcrossLevels()
    {
        var tables = new HandTables<TFormat>(_memory, TableBase, 4);
        tables.Map(0x77, 0x500, 1, PteAccess.ReadWrite);
        ref var level3 = ref tables.Entry(0x77, 3);
        level3 = WithoutWrite(level3);

        var walk = PageWalker.Walk<TFormat>(_memory, tables.Root, 4, 0x77);

        Assert.True(walk.Found);
        Assert.Equal(PteAccess.Read, walk.Access);
    }

    [Fact]
    public void Walk_LeafCacheAttribute_IsKept()
    {
        var tables = new HandTables<TFormat>(_memory, TableBase, 4);
        tables.Map(0x10, 0x600, 1, PteAccess.Write | PteAccess.Cache);

        var walk = PageWalker.Walk<TFormat>(_memory, tables.Root, 4, 0x10);

        Assert.Equal(PteAccess.Write | PteAccess.Cache, walk.Access);
    }

    [Fact]
    public void Walk_MisalignedSuperpageLeaf_IsRefused()
    {
        var tables = new HandTables<TFormat>(_memory, TableBase, 4);
        tables.Map(0x400, 0x20_0001, 2, PteAccess.ReadWrite);

        var walk = PageWalker.Walk<TFormat>(_memory, tables.Root, 4, 0x400);

        Assert.False(walk.Found);
        Assert.Equal(2, walk.Level);
    }

    [Fact]
    public void Walk_RootBeyondHostMemory_ReadsAsEmpty()
    {
        var walk = PageWalker.Walk<TFormat>(_memory, new Mfn(1UL << 30), 4, 1);

        Assert.False(walk.Found);
        Assert.Equal(1, walk.Steps);
    }

    [Fact]
    public void Walk_DfnWiderThanTable_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => PageWalker.Walk<TFormat>(_memory, new Mfn(TableBase), 4, 1UL << 36));
    }
}

public sealed class VtdPageWalkerTests : PageWalkerTests<VtdSecondLevel>
{
    protected override ulong WithoutWrite(ulong pte) => pte & ~VtdSecondLevel.W;
}

public sealed class AmdPageWalkerTests : PageWalkerTests<AmdV1>
{
    protected override ulong WithoutWrite(ulong pte) => pte & ~AmdV1.IW;
}
