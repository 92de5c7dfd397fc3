namespace PvIommu.Platform.PageTables;

/// <summary>What a leaf entry lets a device do. Both hardware formats AND these down the walk.</summary>
[Flags]
public enum PteAccess : byte
{
    /// <summary>No access: such a leaf is never written (an entry with neither bit is not present).</summary>
    None = 0,

    /// <summary>Device reads (DMA from memory) allowed.</summary>
    Read = 1,

    /// <summary>Device writes (DMA to memory) allowed.</summary>
    Write = 2,

    /// <summary>Cache-coherent (snooped) access: VT-d SNP, AMD-Vi FC.</summary>
    Cache = 4,

    /// <summary>Read and write.</summary>
    ReadWrite = Read | Write,
}

/// <summary>The page-table formats the simulated IOMMU units implement.</summary>
public enum PageTableFormat
{
    /// <summary>Intel VT-d second-level translation tables.</summary>
    VtdSecondLevel,

    /// <summary>AMD-Vi (AMD IOMMU) version 1 host page tables.</summary>
    AmdV1,
}

/// <summary>Page sizes by level: level 1 holds 4 KiB leaves, level 2 2 MiB, level 3 1 GiB.</summary>
public static class PageLevel
{
    /// <summary>Index bits per level (512 entries).</summary>
    public const int Bits = 9;

    /// <summary>Entries per table.</summary>
    public const int Entries = 1 << Bits;

    /// <summary>Largest level that may hold a leaf here (1 GiB pages).</summary>
    public const int MaxLeafLevel = 3;

    /// <summary>4 KiB frames covered by one entry at <paramref name="level"/>.</summary>
    public static ulong Frames(int level) => 1UL << (Bits * (level - 1));

    /// <summary>The slot of <paramref name="dfn"/> in a table at <paramref name="level"/>.</summary>
    public static int Index(ulong dfn, int level) => (int)((dfn >> (Bits * (level - 1))) & (Entries - 1));

    /// <summary>Bytes mapped by a leaf at <paramref name="level"/>.</summary>
    public static ulong Bytes(int level) => Frames(level) << 12;

    /// <summary>The level whose leaves are <paramref name="bytes"/> big, or 0 if none is.</summary>
    public static int FromBytes(ulong bytes) => bytes switch
    {
        1UL << 12 => 1,
        1UL << 21 => 2,
        1UL << 30 => 3,
        _ => 0,
    };
}
