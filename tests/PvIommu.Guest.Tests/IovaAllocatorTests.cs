using System.Collections;
using System.Numerics;
using PvIommu.Guest.Dma;

namespace PvIommu.Guest.Tests;

/// <summary>
/// The IOVA allocator alone: seeded random runs checked against a bitmap of what is handed out,
/// and the Linux failures of research/perf-anchors §1.3 replayed.
/// </summary>
public class IovaAllocatorTests
{
    private const ulong Window32 = 1UL << 20;
    private const ulong WindowEnd = 1UL << 22;

    private static readonly (ulong Pfn, ulong Pages)[] _reserved = [(0xFEE00, 0x100), (0x7F000, 16), (0x2345678 >> 4, 3000)];

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void LongMixedRun_NoOverlap_ReservedAndWindowsRespected_NoCollapse(int seed)
    {
        var rng = new Random(seed);
        var iova = new IovaAllocator(1, WindowEnd, new IovaOptions { Cpus = 4 });
        var used = new BitArray((int)WindowEnd);
        foreach (var (pfn, pages) in _reserved)
        {
            Assert.Equal(pages, iova.Reserve(pfn, pages));
        }

        var live = new List<(ulong Pfn, ulong Pages)>();
        ulong livePages = 0;
        int attempts = 0, failures = 0;
        for (var step = 0; step < 200_000; step++)
        {
            // Keep about 45% of the space in use: allocate below that, free above it.
            var allocate = live.Count == 0 || (livePages < WindowEnd * 45 / 100 ? rng.NextDouble() < 0.6 : rng.NextDouble() < 0.4);
            if (!allocate)
            {
                var i = rng.Next(live.Count);
                var (pfn, pages) = live[i];
                live[i] = live[^1];
                live.RemoveAt(live.Count - 1);
                Mark(used, pfn, IovaAllocator.BlockPages(pages), false);
                livePages -= IovaAllocator.BlockPages(pages);
                iova.Free(rng.Next(4), pfn, pages);
                continue;
            }

            var want = rng.NextDouble() < 0.8 ? (ulong)rng.Next(1, 33) : (ulong)rng.Next(33, 4097);
            var limit = rng.NextDouble() < 0.3 ? Window32 : WindowEnd;
            attempts++;
            if (!iova.TryAllocate(rng.Next(4), want, limit, out var got))
            {
                failures++;
                continue;
            }

            var size = IovaAllocator.BlockPages(want);
            Assert.True(got >= 1 && got + size <= limit, $"block [{got:x}, +{size}) outside [1, {limit:x})");
            Assert.True(got % Math.Min(BitOperations.RoundUpToPowerOf2(size), 1UL << 18) == 0, $"block {got:x} of {size} pages misaligned");
            Assert.False(_reserved.Any(r => got < r.Pfn + r.Pages && r.Pfn < got + size), $"block [{got:x}, +{size}) overlaps a reserved region");
            Mark(used, got, size, true);
            live.Add((got, want));
            livePages += size;
            var counters = iova.Counters;
            Assert.True(counters.CachedPfns <= counters.CacheCapacity, $"{counters.CachedPfns} cached");
        }

        var rate = (double)(attempts - failures) / attempts;
        Assert.True(rate >= 0.999, $"success rate {rate:P3} ({failures} of {attempts} failed)");
        Assert.True(iova.Counters.CacheHits > iova.Counters.CacheMisses, $"{iova.Counters}");

        // Everything back: the free space is whole again around the reserved regions.
        foreach (var (pfn, pages) in live)
        {
            iova.Free(0, pfn, pages);
        }

        iova.FlushCaches();
        var reserved = _reserved.Aggregate(0UL, (sum, r) => sum + r.Pages);
        Assert.Equal(WindowEnd - 1 - reserved, iova.Counters.FreePages);
        Assert.Equal(_reserved.Length + 1, iova.Counters.FreeExtents);
        Assert.Equal(0, iova.Counters.LiveAllocations);
    }

    [Fact]
    public void SizeShift_BlocksCachedForAnOldSize_DoNotStarveANewSize()
    {
        // Jakub Kicinski's MTU 9000 → 1500 case: the 4-page blocks of the old size sit in the caches.
        var iova = new IovaAllocator(0, 4096, new IovaOptions { Cpus = 2 });
        var old = new List<ulong>();
        while (iova.TryAllocate(0, 3, 4096, out var pfn))
        {
            old.Add(pfn);
        }

        Assert.Equal(1024, old.Count);
        foreach (var pfn in old)
        {
            iova.Free(1, pfn, 3);
        }

        Assert.Equal(0UL, iova.Counters.FreePages);
        for (var i = 0; i < 4096; i++)
        {
            Assert.True(iova.TryAllocate(i % 2, 1, 4096, out _), $"allocation {i} failed: {iova.Counters}");
        }

        Assert.Equal(1, iova.Counters.CacheFlushes);
        Assert.False(iova.TryAllocate(0, 1, 4096, out _));
    }

    [Fact]
    public void Caches_AreBounded_OverflowGoesBackToTheTree()
    {
        var options = new IovaOptions { Cpus = 2, MagazineSize = 4, DepotLimit = 2 };
        var iova = new IovaAllocator(1, 1UL << 16, options);
        var blocks = new List<ulong>();
        for (var i = 0; i < 5000; i++)
        {
            Assert.True(iova.TryAllocate(i % 2, 1, 1UL << 16, out var pfn));
            blocks.Add(pfn);
        }

        foreach (var pfn in blocks)
        {
            iova.Free(0, pfn, 1);
        }

        var c = iova.Counters;
        Assert.Equal(6L * ((2 * 2) + 2) * 4, c.CacheCapacity);
        Assert.InRange(c.CachedPfns, 1, 2L * 4 + (2 * 4));
        Assert.True(c.MagazinesSpilled > 0);
        Assert.Equal((ulong)((1L << 16) - 1 - c.CachedPfns), c.FreePages);
    }

    [Fact]
    public void Reserve_KeepsTheMsiWindowOut_EvenWhenItIsAllThatIsLeft()
    {
        var iova = new IovaAllocator(0xFED00, 0xFF000);
        Assert.Equal(0x100UL, iova.Reserve(0xFEE00, 0x100));
        var got = new List<ulong>();
        while (iova.TryAllocate(0, 1, 0xFF000, out var pfn))
        {
            got.Add(pfn);
        }

        Assert.Equal(0x200, got.Count);
        Assert.DoesNotContain(got, p => p is >= 0xFEE00 and < 0xFEF00);
    }

    [Fact]
    public void LargeBlocks_AreSizeAligned_AndComeTopDown()
    {
        var iova = new IovaAllocator(1, 1UL << 24);

        Assert.True(iova.TryAllocate(0, 512, 1UL << 24, out var a));
        Assert.True(iova.TryAllocate(0, 700, 1UL << 20, out var b));

        Assert.Equal((1UL << 24) - 512, a);
        Assert.Equal(0UL, b % 1024);
        Assert.True(b + 700 <= 1UL << 20);
        Assert.False(iova.TryAllocate(0, 1UL << 25, 1UL << 24, out _));
    }

    [Fact]
    public void Free_OfABlockNotHandedOut_IsABug()
    {
        var iova = new IovaAllocator(1, 1024);
        Assert.True(iova.TryAllocate(0, 4, 1024, out var pfn));

        Assert.Throws<InvalidOperationException>(() => iova.Free(0, pfn + 1, 4));
        Assert.Throws<InvalidOperationException>(() => iova.Free(0, pfn, 64));
        iova.Free(0, pfn, 4);
        Assert.Throws<InvalidOperationException>(() => iova.Free(0, pfn, 4));
    }

    /// <summary>Flips the bits of a block; every bit must have the other value first (no overlap, no double free).</summary>
    private static void Mark(BitArray used, ulong pfn, ulong pages, bool value)
    {
        var clash = -1L;
        for (var p = pfn; p < pfn + pages; p++)
        {
            clash = used[(int)p] == value && clash < 0 ? (long)p : clash;
            used[(int)p] = value;
        }

        Assert.True(clash < 0, $"pfn {clash:x} of block [{pfn:x}, +{pages}) was already {(value ? "in use" : "free")}");
    }
}
