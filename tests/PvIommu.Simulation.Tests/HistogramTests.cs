using PvIommu.Simulation.Running;

namespace PvIommu.Simulation.Tests;

/// <summary>The latency histogram's power-of-two buckets, its count, mean and maximum.</summary>
public class HistogramTests
{
    [Theory]
    [InlineData(0, 0)]
    [InlineData(63.999, 0)]
    [InlineData(64, 1)]
    [InlineData(127.99, 1)]
    [InlineData(128, 2)]
    [InlineData(255.5, 2)]
    [InlineData(256, 3)]
    [InlineData(1_000_000, 14)]
    [InlineData(4.3e12, 27)]
    [InlineData(1e300, 27)]
    public void Add_PutsASampleInTheBucketWhoseRangeHoldsIt(double ns, int bucket)
    {
        var histogram = new Histogram();

        histogram.Add(ns);

        Assert.Equal(1, histogram.Counts[bucket]);
        Assert.Equal(1, histogram.Counts.Sum());
        Assert.True(bucket == Histogram.Buckets - 1 || ns < Histogram.LowerBound(bucket + 1));
        Assert.True(ns >= Histogram.LowerBound(bucket));
    }

    [Fact]
    public void Add_AgreesWithTheBucketBounds_OverEveryPowerOfTwoAndItsNeighbours()
    {
        for (var bucket = 1; bucket < Histogram.Buckets; bucket++)
        {
            var low = Histogram.LowerBound(bucket);
            foreach (var ns in new[] { low, Math.BitDecrement(low), Math.BitIncrement(low) })
            {
                var histogram = new Histogram();
                histogram.Add(ns);

                var expected = ns < low ? bucket - 1 : bucket;
                Assert.Equal(1, histogram.Counts[expected]);
            }
        }
    }

    [Fact]
    public void Add_KeepsCountMeanAndMaximum()
    {
        var histogram = new Histogram();

        foreach (var ns in new[] { 100.0, 3000.0, 20.0, 500.0 })
        {
            histogram.Add(ns);
        }

        Assert.Equal(4, histogram.Count);
        Assert.Equal(905.0, histogram.Mean);
        Assert.Equal(3000.0, histogram.Max);
        Assert.Equal(3000.0, histogram.Quantile(1.0));
    }
}
