namespace PvIommu.Devices;

/// <summary>
/// A seeded generator (SplitMix64, Steele/Lea/Flood 2014): the same seed gives the same
/// sequence on every runtime, which <see cref="Random"/> does not promise.
/// </summary>
internal struct SplitMix64(ulong seed)
{
    private ulong _state = seed;

    /// <summary>The next 64 random bits.</summary>
    public ulong Next()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A value in [0, <paramref name="bound"/>) (Lemire's multiply-shift; the bias is below 2^-32 for small bounds).</summary>
    public ulong Below(ulong bound)
    {
        ArgumentOutOfRangeException.ThrowIfZero(bound);
        return (ulong)(((UInt128)Next() * bound) >> 64);
    }

    /// <summary>True with probability <paramref name="p"/> (0 never, 1 always).</summary>
    public bool Chance(double p) => p >= 1 || (p > 0 && (Next() >> 11) * (1.0 / (1UL << 53)) < p);

    /// <summary>Fills <paramref name="bytes"/> with random bytes.</summary>
    public void Fill(Span<byte> bytes)
    {
        for (var i = 0; i < bytes.Length; i += sizeof(ulong))
        {
            var word = Next();
            for (var j = 0; j < sizeof(ulong) && i + j < bytes.Length; j++)
            {
                bytes[i + j] = (byte)(word >> (8 * j));
            }
        }
    }
}
