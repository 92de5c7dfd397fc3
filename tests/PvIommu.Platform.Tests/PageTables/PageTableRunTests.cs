using PvIommu.Platform.Memory;
using PvIommu.Platform.PageTables;

namespace PvIommu.Platform.Tests.PageTables;

/// <summary>
/// Map and unmap write (and clear) four slots at a time and hand the rest of a run to a
/// slot-by-slot loop: whatever the run's position against those groups of four, the table must
/// hold what slot-by-slot work gives, and an unmap must report every leaf it removes.
/// </summary>
public class PageTableRunTests
{
    public static TheoryData<int, int> BlockerPositions()
    {
        var data = new TheoryData<int, int>();
        foreach (var start in new[] { 0, 1, 3 })
        {
            foreach (var blocker in new[] { 0, 1, 2, 3, 4, 5, 6, 7, 21, 38 })
            {
                data.Add(start, blocker);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(BlockerPositions))]
    public void Map_StopsExactlyAtAMappedSlot_Vtd(int start, int blocker) => StopsAtBlocker<VtdSecondLevel>(start, blocker);

    [Theory]
    [MemberData(nameof(BlockerPositions))]
    public void Map_StopsExactlyAtAMappedSlot_Amd(int start, int blocker) => StopsAtBlocker<AmdV1>(start, blocker);

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(63)]
    [InlineData(512)]
    public void Map_RunOfAnyLength_WritesEveryLeaf(int count)
    {
        var h = new Harness<AmdV1>();
        Assert.Equal(PtStatus.Ok, h.Table.Map(1024 + 2, 7000, (ulong)count, PteAccess.Read, 1, out var done));
        Assert.Equal((ulong)count, done);
        for (var i = 0; i < count; i++)
        {
            Assert.Equal(new PtLeaf(7000 + (ulong)i, PteAccess.Read, 1), h.Walk(1024 + 2 + (ulong)i));
        }

        Assert.Null(h.Walk(1024 + 1));
        Assert.Null(h.Walk(1024 + 2 + (ulong)count));
    }

    [Fact]
    public void Map_SuperpageRun_StopsAtTheTenthLeafWhereATableStands()
    {
        const ulong TwoM = 512;
        var h = new Harness<VtdSecondLevel>();
        h.Table.Map((10 * TwoM) + 3, 1, 1, PteAccess.ReadWrite, 1, out _);

        Assert.Equal(PtStatus.InUse, h.Table.Map(TwoM, 64 * TwoM, 16 * TwoM, PteAccess.ReadWrite, 2, out var done));

        // Leaves 1..9 are 2 MiB; the tenth 2 MiB region holds a table, so the engine fills
        // around the small mapping with 4 KiB leaves and stops at it.
        Assert.Equal((9 * TwoM) + 3, done);
        for (ulong s = 1; s < 10; s++)
        {
            Assert.Equal(new PtLeaf((64 + s - 1) * TwoM, PteAccess.ReadWrite, 2), h.Walk(s * TwoM));
        }

        Assert.Equal(1, h.Walk((10 * TwoM) + 2)!.Value.Level);
        Assert.Equal(1UL, h.Walk((10 * TwoM) + 3)!.Value.Mfn);
        Assert.Null(h.Walk((10 * TwoM) + 4));
    }

    [Fact]
    public void Map_RunPastTheAddressFieldsTop_KeepsOnlyTheFieldsBits()
    {
        // Frames past bit 51 of the address do not fit the field: each leaf keeps the low 40
        // bits of its frame, as one written alone would, and no carry reaches the flags.
        const ulong Top = 1UL << 40;
        var h = new Harness<VtdSecondLevel>();
        Assert.Equal(PtStatus.Ok, h.Table.Map(0, Top - 4, 12, PteAccess.Write, 1, out _));
        var leaves = new Mfn(h.Table.Root.Value);
        for (var level = h.Table.Levels; level > 1; level--)
        {
            leaves = new Mfn(VtdSecondLevel.Address(h.Memory.ReadWord(leaves, 0)));
        }

        for (ulong i = 0; i < 12; i++)
        {
            Assert.Equal(VtdSecondLevel.Leaf(Top - 4 + i, 1, PteAccess.Write), h.Memory.ReadWord(leaves, (int)i));
            Assert.Equal(new PtLeaf((Top - 4 + i) & (Top - 1), PteAccess.Write, 1), h.Walk(i));
        }
    }

    [Theory]
    [MemberData(nameof(BlockerPositions))]
    public void Unmap_StopsExactlyAtAHole_Vtd(int start, int hole) => UnmapStopsAtHole<VtdSecondLevel>(start, hole);

    [Theory]
    [MemberData(nameof(BlockerPositions))]
    public void Unmap_StopsExactlyAtAHole_Amd(int start, int hole) => UnmapStopsAtHole<AmdV1>(start, hole);

    private static void UnmapStopsAtHole<TFormat>(int start, int hole)
        where TFormat : struct, IPteFormat
    {
        const ulong Base = 4096;
        const int Count = 48;
        var h = new Harness<TFormat>();
        var first = Base + (ulong)start;
        Assert.Equal(PtStatus.Ok, h.Table.Map(first, 9000, Count, PteAccess.ReadWrite, 1, out _));
        Assert.Equal(PtStatus.Ok, h.Table.Unmap(first + (ulong)hole, 1, out _));
        var seen = new Recorder([]);

        Assert.Equal(PtStatus.NotMapped, h.Table.Unmap(first, Count, ref seen, out var done));

        Assert.Equal((ulong)hole, done);
        Assert.Equal(Enumerable.Range(0, hole).Select(i => (first + (ulong)i, 9000 + (ulong)i, 1UL, PteAccess.ReadWrite)), seen.Leaves);
        for (var i = 0; i < Count; i++)
        {
            Assert.Equal(i > hole ? new PtLeaf(9000 + (ulong)i, PteAccess.ReadWrite, 1) : (PtLeaf?)null, h.Walk(first + (ulong)i));
        }

        Assert.Equal(Count - hole - 1, h.Table.MappedFrames);
        Assert.Equal(h.CheckTables(), h.Table.TablePages);
    }

    private static void StopsAtBlocker<TFormat>(int start, int blocker)
        where TFormat : struct, IPteFormat
    {
        const ulong Base = 4096;
        const int Count = 48;
        var h = new Harness<TFormat>();
        var first = Base + (ulong)start;
        Assert.Equal(PtStatus.Ok, h.Table.Map(first + (ulong)blocker, 3, 1, PteAccess.Read, 1, out _));

        Assert.Equal(PtStatus.InUse, h.Table.Map(first, 9000, Count, PteAccess.ReadWrite, 1, out var done));

        Assert.Equal((ulong)blocker, done);
        for (var i = 0; i < Count; i++)
        {
            var expected = i < blocker ? new PtLeaf(9000 + (ulong)i, PteAccess.ReadWrite, 1)
                : i == blocker ? new PtLeaf(3, PteAccess.Read, 1)
                : (PtLeaf?)null;
            Assert.Equal(expected, h.Walk(first + (ulong)i));
        }

        Assert.Equal(blocker + 1, h.Table.MappedFrames);
        Assert.Equal(h.CheckTables(), h.Table.TablePages);
    }

    private readonly record struct Recorder(List<(ulong Dfn, ulong Mfn, ulong Frames, PteAccess Access)> Leaves) : ILeafVisitor
    {
        public void Removed(ulong dfn, ulong mfn, ulong frames, PteAccess access) => Leaves.Add((dfn, mfn, frames, access));
    }
}
