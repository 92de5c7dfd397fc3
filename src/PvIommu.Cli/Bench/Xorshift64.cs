namespace PvIommu.Cli.Bench;

/// <summary>The xorshift64 generator of <c>baseline/radix.c</c>, so both sides look up the same addresses.</summary>
internal struct Xorshift64(ulong seed)
{
    private ulong _x = seed;

    /// <summary>radix.c's seed.</summary>
    public const ulong RadixSeed = 88172645463325252UL;

    public ulong Next()
    {
        _x ^= _x << 13;
        _x ^= _x >> 7;
        _x ^= _x << 17;
        return _x;
    }
}
