using PvIommu.Guest.Dma;

namespace PvIommu.Guest.Tests;

/// <summary>The pfn map behind the DMA API's live mappings and the IOVA allocator's live blocks, against a dictionary.</summary>
public sealed class PfnMapTests
{
    [Fact]
    public void RandomOperations_AgreeWithADictionary()
    {
        var map = new PfnMap<ulong>();
        var model = new Dictionary<ulong, ulong>();
        var random = new Random(7);
        for (var step = 0; step < 20_000; step++)
        {
            // Pfns from three clusters and a far one, so leaves fill, empty and come back.
            var pfn = random.Next(4) switch
            {
                0 => (ulong)random.Next(0, 600),
                1 => 0xFFFF0UL + (ulong)random.Next(0, 40),
                2 => (1UL << 35) + (ulong)random.Next(0, 3),
                _ => (ulong)random.Next(0, 2000) << 9,
            };
            if (random.Next(2) == 0)
            {
                var value = (ulong)step;
                if (model.TryAdd(pfn, value))
                {
                    map.Add(pfn, value);
                }
                else
                {
                    Assert.Throws<ArgumentException>(() => map.Add(pfn, value));
                }
            }
            else
            {
                Assert.Equal(model.Remove(pfn, out var expected), map.Remove(pfn, out var removed));
                Assert.Equal(expected, removed);
            }

            Assert.Equal(model.Count, map.Count);
            Assert.Equal(model.ContainsKey(pfn), map.ContainsKey(pfn));
        }

        Assert.Equal(model.OrderBy(p => p.Key), map.Entries());
    }

    [Fact]
    public void Entries_ComeLowestPfnFirstAcrossLeaves()
    {
        var map = new PfnMap<int>();
        foreach (var pfn in new ulong[] { 5000, 3, 511, 512, 1UL << 40, 0 })
        {
            map.Add(pfn, (int)(pfn % 1000));
        }

        Assert.Equal([0UL, 3, 511, 512, 5000, 1UL << 40], map.Entries().Select(e => e.Key));
        Assert.True(map.TryGetValue(5000, out var v));
        Assert.Equal(0, v);
        Assert.False(map.TryGetValue(4999, out _));
    }
}
