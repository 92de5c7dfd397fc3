namespace PvIommu.Simulation.Running;

/// <summary>A latency histogram with power-of-two buckets from 64 ns (bucket i holds [64·2^(i-1), 64·2^i) ns).</summary>
internal sealed class Histogram
{
    public const int Buckets = 28;

    private readonly long[] _counts = new long[Buckets];
    private double _sum;
    private double _max;

    public long Count { get; private set; }

    public IReadOnlyList<long> Counts => _counts;

    public double Mean => Count == 0 ? 0 : _sum / Count;

    public double Max => _max;

    public static double LowerBound(int bucket) => bucket == 0 ? 0 : 64.0 * Math.Pow(2, bucket - 1);

    public void Add(double ns)
    {
        // From 64 ns on, bucket 1 + floor(log2(ns / 64)) is the double's binary exponent less 5,
        // read from its bits: no division, no conversion to an integer and no log per sample.
        var bucket = ns < 64 ? 0 : (int)Math.Min(Buckets - 1, (BitConverter.DoubleToUInt64Bits(ns) >> 52) - (1023 + 5));
        _counts[bucket]++;
        Count++;
        _sum += ns;
        if (ns > _max)
        {
            _max = ns;
        }
    }

    /// <summary>The upper bound of the bucket holding quantile <paramref name="q"/>.</summary>
    public double Quantile(double q)
    {
        if (Count == 0)
        {
            return 0;
        }

        var target = (long)Math.Ceiling(q * Count);
        long seen = 0;
        for (var i = 0; i < Buckets; i++)
        {
            seen += _counts[i];
            if (seen >= target)
            {
                return Math.Min(_max, LowerBound(i + 1));
            }
        }

        return _max;
    }
}
