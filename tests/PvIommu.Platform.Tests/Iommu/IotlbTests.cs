using PvIommu.Platform.Iommu;
using PvIommu.Platform.Memory;
using PvIommu.Platform.PageTables;

namespace PvIommu.Platform.Tests.Iommu;

/// <summary>The IOTLB alone: lookups, fills, replacement, and the three invalidations (VT-d §6.5, AMD-Vi §2.4).</summary>
public sealed class IotlbTests
{
    private readonly Iotlb _iotlb = new(IotlbGeometry.Default);

    [Fact]
    public void TryLookup_Empty_MissesAndCounts()
    {
        Assert.False(_iotlb.TryLookup(1, 0x10, out _));
        Assert.Equal(1, _iotlb.Counters.Misses);
        Assert.Equal(0, _iotlb.Counters.Hits);
    }

    [Fact]
    public void TryLookup_AfterFill_HitsWithCachedLeaf()
    {
        _iotlb.Fill(1, 0x10, new Mfn(0x99), PteAccess.Read, 1);

        Assert.True(_iotlb.TryLookup(1, 0x10, out var hit));
        Assert.Equal(new IotlbHit(new Mfn(0x99), PteAccess.Read, 1), hit);
        Assert.Equal(new IotlbCounters(1, 0, 1, 0, 0, 0, 0, 0), _iotlb.Counters);
    }

    [Fact]
    public void TryLookup_OtherDomainSameDfn_Misses()
    {
        _iotlb.Fill(1, 0x10, new Mfn(0x99), PteAccess.Read, 1);

        Assert.False(_iotlb.TryLookup(2, 0x10, out _));
    }

    [Fact]
    public void TryLookup_2MEntry_HitsEveryFrameInside()
    {
        // A walk for dfn 0x405 found the 2 MiB leaf at mfn 0x800 (+5): the entry covers 0x400..0x5FF.
        _iotlb.Fill(1, 0x405, new Mfn(0x805), PteAccess.ReadWrite, 2);

        Assert.True(_iotlb.TryLookup(1, 0x400, out var first));
        Assert.True(_iotlb.TryLookup(1, 0x5FF, out var last));
        Assert.False(_iotlb.TryLookup(1, 0x600, out _));
        Assert.Equal(new IotlbHit(new Mfn(0x800), PteAccess.ReadWrite, 2), first);
        Assert.Equal(new Mfn(0x9FF), last.Mfn);
    }

    [Fact]
    public void TryLookup_1GEntry_HitsEveryFrameInside()
    {
        _iotlb.Fill(3, 1UL << 18, new Mfn(2UL << 18), PteAccess.Write, 3);

        Assert.True(_iotlb.TryLookup(3, (1UL << 18) + 0x3_FFFF, out var hit));
        Assert.Equal(new IotlbHit(new Mfn((2UL << 18) + 0x3_FFFF), PteAccess.Write, 3), hit);
    }

    [Fact]
    public void Fill_FullSet_EvictsRoundRobin()
    {
        var iotlb = new Iotlb(new IotlbGeometry(1, 2, 1, 1, 1, 1));
        iotlb.Fill(1, 0x1, new Mfn(0x11), PteAccess.Read, 1);
        iotlb.Fill(1, 0x2, new Mfn(0x12), PteAccess.Read, 1);
        iotlb.Fill(1, 0x3, new Mfn(0x13), PteAccess.Read, 1); // evicts way 0 (dfn 1)
        iotlb.Fill(1, 0x4, new Mfn(0x14), PteAccess.Read, 1); // evicts way 1 (dfn 2)

        Assert.False(iotlb.TryLookup(1, 0x1, out _));
        Assert.False(iotlb.TryLookup(1, 0x2, out _));
        Assert.True(iotlb.TryLookup(1, 0x3, out _));
        Assert.True(iotlb.TryLookup(1, 0x4, out _));
        Assert.Equal(2, iotlb.Counters.Evictions);
        Assert.Equal(2, iotlb.Count);
    }

    [Fact]
    public void Fill_SameTranslationAgain_UpdatesInPlace()
    {
        var iotlb = new Iotlb(new IotlbGeometry(1, 2, 1, 1, 1, 1));
        iotlb.Fill(1, 0x1, new Mfn(0x11), PteAccess.Read, 1);
        iotlb.Fill(1, 0x1, new Mfn(0x21), PteAccess.ReadWrite, 1);

        Assert.True(iotlb.TryLookup(1, 0x1, out var hit));
        Assert.Equal(new Mfn(0x21), hit.Mfn);
        Assert.Equal(0, iotlb.Counters.Evictions);
        Assert.Equal(1, iotlb.Count);
    }

    [Fact]
    public void InvalidatePages_DropsOnlyTheRangeOfThatDomain()
    {
        for (var dfn = 0x10UL; dfn < 0x20; dfn++)
        {
            _iotlb.Fill(1, dfn, new Mfn(dfn + 0x1000), PteAccess.Read, 1);
        }

        _iotlb.Fill(2, 0x15, new Mfn(0x5000), PteAccess.Read, 1);

        Assert.Equal(4, _iotlb.InvalidatePages(1, new Dfn(0x14), 4));
        Assert.True(_iotlb.TryLookup(1, 0x13, out _));
        Assert.False(_iotlb.TryLookup(1, 0x14, out _));
        Assert.False(_iotlb.TryLookup(1, 0x17, out _));
        Assert.True(_iotlb.TryLookup(1, 0x18, out _));
        Assert.True(_iotlb.TryLookup(2, 0x15, out _));
        Assert.Equal(1, _iotlb.Counters.PageInvalidations);
        Assert.Equal(4, _iotlb.Counters.EntriesInvalidated);
    }

    [Fact]
    public void InvalidatePages_OneFrameInsideSuperpages_DropsThem()
    {
        _iotlb.Fill(1, 0x400, new Mfn(0x800), PteAccess.Read, 2);
        _iotlb.Fill(1, 1UL << 18, new Mfn(1UL << 18), PteAccess.Read, 3);

        _iotlb.InvalidatePages(1, new Dfn(0x4FF), 1);
        _iotlb.InvalidatePages(1, new Dfn((1UL << 18) + 0x1234), 1);

        Assert.False(_iotlb.TryLookup(1, 0x400, out _));
        Assert.False(_iotlb.TryLookup(1, 1UL << 18, out _));
    }

    [Fact]
    public void InvalidatePages_RangeLargerThanTheArray_ScansAndDropsAllOverlapping()
    {
        _iotlb.Fill(1, 0x10, new Mfn(0x10), PteAccess.Read, 1);
        _iotlb.Fill(1, 0x10_0000, new Mfn(0x10), PteAccess.Read, 1);
        _iotlb.Fill(1, 0x20_0000, new Mfn(0x10), PteAccess.Read, 1);

        Assert.Equal(2, _iotlb.InvalidatePages(1, new Dfn(0), 0x10_0001));
        Assert.True(_iotlb.TryLookup(1, 0x20_0000, out _));
    }

    [Fact]
    public void InvalidatePages_ToTheTopOfTheAddressSpace_DoesNotWrap()
    {
        _iotlb.Fill(1, 0x10, new Mfn(0x10), PteAccess.Read, 1);

        Assert.Equal(0, _iotlb.InvalidatePages(1, new Dfn(0x20), ulong.MaxValue));
        Assert.True(_iotlb.TryLookup(1, 0x10, out _));
    }

    [Fact]
    public void InvalidatePages_ZeroFrames_DoesNothing()
    {
        _iotlb.Fill(1, 0x10, new Mfn(0x10), PteAccess.Read, 1);

        Assert.Equal(0, _iotlb.InvalidatePages(1, new Dfn(0x10), 0));
        Assert.Equal(0, _iotlb.Counters.PageInvalidations);
    }

    [Fact]
    public void InvalidateDomain_DropsEverySizeOfThatDomainOnly()
    {
        _iotlb.Fill(1, 0x10, new Mfn(0x10), PteAccess.Read, 1);
        _iotlb.Fill(1, 0x400, new Mfn(0x800), PteAccess.Read, 2);
        _iotlb.Fill(1, 1UL << 18, new Mfn(1UL << 18), PteAccess.Read, 3);
        _iotlb.Fill(2, 0x10, new Mfn(0x10), PteAccess.Read, 1);

        Assert.Equal(3, _iotlb.InvalidateDomain(1));
        Assert.Equal(1, _iotlb.Count);
        Assert.True(_iotlb.TryLookup(2, 0x10, out _));
        Assert.Equal(1, _iotlb.Counters.DomainInvalidations);
    }

    [Fact]
    public void InvalidateAll_EmptiesIt()
    {
        _iotlb.Fill(1, 0x10, new Mfn(0x10), PteAccess.Read, 1);
        _iotlb.Fill(2, 0x400, new Mfn(0x800), PteAccess.Read, 2);

        Assert.Equal(2, _iotlb.InvalidateAll());
        Assert.Equal(0, _iotlb.Count);
        Assert.Equal(1, _iotlb.Counters.GlobalInvalidations);
        Assert.Equal(2, _iotlb.Counters.EntriesInvalidated);
    }

    [Fact]
    public void Fill_ManyDomainsAndFrames_StaysDeterministic()
    {
        var a = new Iotlb(IotlbGeometry.Default);
        var b = new Iotlb(IotlbGeometry.Default);
        for (var i = 0UL; i < 5000; i++)
        {
            a.Fill((ushort)(i % 7), i * 13, new Mfn(i), PteAccess.Read, 1);
            b.Fill((ushort)(i % 7), i * 13, new Mfn(i), PteAccess.Read, 1);
        }

        for (var i = 0UL; i < 5000; i++)
        {
            Assert.Equal(a.TryLookup((ushort)(i % 7), i * 13, out var x), b.TryLookup((ushort)(i % 7), i * 13, out var y));
            Assert.Equal(x, y);
        }

        Assert.Equal(a.Counters, b.Counters);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 3)]
    [InlineData(4, 5)]
    [InlineData(2, 8)]
    [InlineData(1, 13)]
    public void RandomFillsAndInvalidations_HitsAreTheLastFillAndCountIsExact(int sets, int ways)
    {
        // Whatever the ways (vector compares read four keys at a time), a hit returns the frame
        // last filled for its dfn, nothing invalidated since hits, and Count is the live entries.
        var iotlb = new Iotlb(new IotlbGeometry(sets, ways, 1, 1, 1, 1));
        var model = new Dictionary<(ushort Domain, ulong Dfn), ulong>();
        var random = new Random(ways * 31 + sets);
        for (var step = 0; step < 4000; step++)
        {
            var domain = (ushort)random.Next(1, 4);
            var dfn = (ulong)random.Next(0, 64);
            var roll = random.Next(100);
            if (roll < 80)
            {
                var mfn = (ulong)random.Next(1, 1 << 20);
                iotlb.Fill(domain, dfn, new Mfn(mfn), PteAccess.Read, 1);
                model[(domain, dfn)] = mfn;
            }
            else if (roll < 95)
            {
                var count = (ulong)random.Next(1, 8);
                iotlb.InvalidatePages(domain, new Dfn(dfn), count);
                foreach (var key in model.Keys.Where(k => k.Domain == domain && k.Dfn - dfn < count).ToList())
                {
                    model.Remove(key);
                }
            }
            else if (roll < 99)
            {
                iotlb.InvalidateDomain(domain);
                foreach (var key in model.Keys.Where(k => k.Domain == domain).ToList())
                {
                    model.Remove(key);
                }
            }
            else
            {
                iotlb.InvalidateAll();
                model.Clear();
            }

            var held = 0;
            for (ushort d = 1; d < 4; d++)
            {
                for (ulong f = 0; f < 64; f++)
                {
                    if (iotlb.TryLookup(d, f, out var hit))
                    {
                        Assert.True(model.TryGetValue((d, f), out var expected), $"step {step}: ({d}, {f}) hit after invalidation");
                        Assert.Equal(expected, hit.Mfn.Value);
                        held++;
                    }
                }
            }

            Assert.Equal(held, iotlb.Count);
            Assert.True(held <= sets * ways);
        }
    }

    [Theory]
    [InlineData(3, 1)]
    [InlineData(0, 1)]
    [InlineData(4, 0)]
    [InlineData(4, 65)]
    public void Constructor_BadGeometry_Throws(int sets, int ways)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Iotlb(new IotlbGeometry(sets, ways, 1, 1, 1, 1)));
    }

    [Fact]
    public void Fill_LevelAbove1G_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _iotlb.Fill(1, 0, new Mfn(0), PteAccess.Read, 4));
    }
}
