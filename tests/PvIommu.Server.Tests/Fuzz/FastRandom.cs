namespace PvIommu.Server.Tests.Fuzz;

/// <summary>
/// xorshift64*: a seeded generator a few times cheaper than a seeded <see cref="Random"/>
/// (whose seeded form keeps the old, slow algorithm for compatibility), so the fuzz loop spends
/// its time in the code under test.
/// </summary>
internal sealed class FastRandom(ulong seed)
{
    private ulong _state = seed == 0 ? 0x9E3779B97F4A7C15UL : seed;

    public ulong NextUInt64()
    {
        _state ^= _state >> 12;
        _state ^= _state << 25;
        _state ^= _state >> 27;
        return _state * 0x2545F4914F6CDD1DUL;
    }

    /// <summary>A value in [0, <paramref name="maxExclusive"/>).</summary>
    public int Next(int maxExclusive) => (int)((NextUInt64() >> 32) * (ulong)maxExclusive >> 32);

    /// <summary>A value in [<paramref name="min"/>, <paramref name="maxExclusive"/>).</summary>
    public int Next(int min, int maxExclusive) => min + Next(maxExclusive - min);

    /// <summary>A non-negative 31-bit value.</summary>
    public int Next() => (int)(NextUInt64() >> 33);

    public long NextInt64() => (long)(NextUInt64() >> 1);

    public void NextBytes(Span<byte> bytes)
    {
        var i = 0;
        for (; i + 8 <= bytes.Length; i += 8)
        {
            BitConverter.TryWriteBytes(bytes[i..], NextUInt64());
        }

        if (i < bytes.Length)
        {
            var last = NextUInt64();
            for (; i < bytes.Length; i++, last >>= 8)
            {
                bytes[i] = (byte)last;
            }
        }
    }
}
