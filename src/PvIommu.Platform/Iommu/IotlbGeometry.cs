namespace PvIommu.Platform.Iommu;

/// <summary>
/// The shape of an IOTLB: sets × ways for each leaf size. Hardware keeps superpage
/// translations in their own arrays (or tags them by size), so one 1 GiB entry does not need
/// 262,144 4 KiB slots; this model does the same with one array per size.
/// </summary>
/// <param name="Sets4K">Sets of the 4 KiB array (a power of two).</param>
/// <param name="Ways4K">Ways of the 4 KiB array.</param>
/// <param name="Sets2M">Sets of the 2 MiB array (a power of two).</param>
/// <param name="Ways2M">Ways of the 2 MiB array.</param>
/// <param name="Sets1G">Sets of the 1 GiB array (a power of two).</param>
/// <param name="Ways1G">Ways of the 1 GiB array.</param>
public sealed record IotlbGeometry(int Sets4K, int Ways4K, int Sets2M, int Ways2M, int Sets1G, int Ways1G)
{
    /// <summary>Most ways an array may have.</summary>
    public const int MaxWays = 64;

    /// <summary>A modest default: 512 4 KiB entries (64 × 8), 64 2 MiB entries (16 × 4), 16 1 GiB entries (4 × 4), and 64 cached level-2 entries (16 × 4).</summary>
    public static IotlbGeometry Default { get; } = new(64, 8, 16, 4, 4, 4);

    /// <summary>
    /// Sets of the paging-structure cache of level-2 entries (a power of two; VT-d's PDE cache):
    /// each entry remembers which 4 KiB table serves a 2 MiB region, so a miss in the IOTLB that
    /// hits here reads one page-table word instead of the whole walk.
    /// </summary>
    public int TableSets { get; init; } = 16;

    /// <summary>Ways of the paging-structure cache.</summary>
    public int TableWays { get; init; } = 4;

    /// <summary>Total entries over all sizes.</summary>
    public int Capacity => (Sets4K * Ways4K) + (Sets2M * Ways2M) + (Sets1G * Ways1G);

    /// <summary>Checks every array's shape.</summary>
    /// <exception cref="ArgumentOutOfRangeException">sets not a power of two (1 to 2^20), or ways outside 1–64.</exception>
    public void Validate()
    {
        Check(Sets4K, Ways4K, nameof(Sets4K));
        Check(Sets2M, Ways2M, nameof(Sets2M));
        Check(Sets1G, Ways1G, nameof(Sets1G));
        Check(TableSets, TableWays, nameof(TableSets));
    }

    private static void Check(int sets, int ways, string name)
    {
        if (sets < 1 || sets > 1 << 20 || (sets & (sets - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(name, sets, "sets must be a power of two from 1 to 2^20");
        }

        if (ways < 1 || ways > MaxWays)
        {
            throw new ArgumentOutOfRangeException(name, ways, $"ways must be 1 to {MaxWays}");
        }
    }
}
