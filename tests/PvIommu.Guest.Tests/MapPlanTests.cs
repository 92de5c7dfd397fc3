using PvIommu.Abi;

namespace PvIommu.Guest.Tests;

/// <summary>The run splitter against a brute-force check of what it must produce.</summary>
public class MapPlanTests
{
    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    public void RandomRequests_CoverEveryFrameOnce_WithAlignedPagesOnly(int seed)
    {
        var rng = new Random(seed);
        for (var round = 0; round < 300; round++)
        {
            var dfn = (ulong)rng.Next(0, 1 << 20);
            var gfns = new List<ulong>();
            var gfn = (ulong)rng.Next(0, 1 << 20);
            var frames = rng.Next(1, 3000);
            for (var i = 0; i < frames; i++)
            {
                gfns.Add(gfn);
                gfn = rng.NextDouble() < 0.002 ? (ulong)rng.Next(0, 1 << 20) : gfn + 1;
            }

            if (rng.NextDouble() < 0.5)
            {
                // Shift the whole list so that its first run agrees with dfn modulo 2 MiB.
                var delta = (dfn - gfns[0]) % 512;
                gfns = [.. gfns.Select(g => g + delta)];
            }

            var chunks = new List<MapChunk>();
            MapPlan.AddRuns(chunks, dfn, gfns.ToArray(), PageSizes.SupportedMask);

            var next = dfn;
            var problems = new List<string>();
            foreach (var c in chunks)
            {
                var perPage = PageSizes.FramesPerPage(c.Pgsize);
                if (c.Dfn != next || (c.Dfn | c.Gfn) % perPage != 0 || c.Pages == 0)
                {
                    problems.Add($"{c} after {next:x}");
                }

                for (ulong i = 0; i < c.Frames; i++)
                {
                    if (gfns[(int)(c.Dfn - dfn + i)] != c.Gfn + i)
                    {
                        problems.Add($"{c}: frame {i}");
                        break;
                    }
                }

                next += c.Frames;
            }

            Assert.Empty(problems);
            Assert.Equal(dfn + (ulong)frames, next);
            Assert.Equal(SuperpageFrames(dfn, gfns), chunks.Where(c => c.Pgsize == PageSizes.Size2M).Sum(c => (long)c.Frames));
        }
    }

    /// <summary>Brute force: frames of whole 2 MiB pages that fit in each contiguous run where dfn and gfn agree modulo 512.</summary>
    private static long SuperpageFrames(ulong dfn, List<ulong> gfns)
    {
        long total = 0;
        var start = 0;
        for (var i = 1; i <= gfns.Count; i++)
        {
            if (i < gfns.Count && gfns[i] == gfns[i - 1] + 1)
            {
                continue;
            }

            var (d, g, n) = (dfn + (ulong)start, gfns[start], (ulong)(i - start));
            if (((d ^ g) & 511) == 0)
            {
                var skip = (512 - (d & 511)) & 511;
                total += n > skip ? (long)((n - skip) / 512 * 512) : 0;
            }

            start = i;
        }

        return total;
    }

    [Fact]
    public void AlignedRun_TakesEverySuperpageItCan()
    {
        var chunks = new List<MapChunk>();

        MapPlan.AddRun(chunks, 0x3FE00, 0x7FE00, 512 + 262144 + 3, PageSizes.SupportedMask);

        Assert.Equal(
            [(0x3FE00UL, PageSizes.Size2M, 1u), (0x40000UL, PageSizes.Size1G, 1u), (0x80000UL, PageSizes.Size4K, 3u)],
            chunks.Select(c => (c.Dfn, c.Pgsize, c.Pages)));
    }
}
