using System.Runtime.CompilerServices;

namespace PvIommu.Platform.PageTables;

/// <summary>
/// AMD-Vi version 1 host page-table entries (AMD I/O Virtualization Technology (IOMMU)
/// Specification, pub. 48882 rev. 3.x, §2.2.3 "I/O Page Tables for Host Translations",
/// the PDE and PTE field tables).
/// </summary>
/// <remarks>
/// <code>
///  63  62   61   60  59  58..52   51 ............ 12  11..9      8..1   0
/// [IGN][IW][IR ][FC][U ][ 0    ][  ADDR           ][NextLevel][ IGN ][PR]
/// </code>
/// PR (bit 0) marks presence. NextLevel 1–6 makes the entry a PDE pointing at a table of
/// that level; NextLevel 0 makes it a leaf of the entry's own level's size (4 KiB at level 1,
/// 2 MiB at 2, 1 GiB at 3). IR and IW are checked at every level and ANDed, so PDEs carry
/// both. FC (force coherent) is what this model sets for <see cref="PteAccess.Cache"/>.
/// </remarks>
public readonly struct AmdV1 : IPteFormat
{
    /// <summary>Present, bit 0.</summary>
    public const ulong PR = 1UL << 0;

    /// <summary>Next-level field shift (bits 11:9).</summary>
    public const int NextLevelShift = 9;

    /// <summary>Force coherent, bit 60.</summary>
    public const ulong FC = 1UL << 60;

    /// <summary>Read permission, bit 61.</summary>
    public const ulong IR = 1UL << 61;

    /// <summary>Write permission, bit 62.</summary>
    public const ulong IW = 1UL << 62;

    /// <summary>Address field, bits 51:12.</summary>
    public const ulong AddressMask = 0x000F_FFFF_FFFF_F000UL;

    /// <inheritdoc/>
    public static PageTableFormat Kind => PageTableFormat.AmdV1;

    /// <summary>The NextLevel field of an entry.</summary>
    public static int NextLevel(ulong pte) => (int)((pte >> NextLevelShift) & 7);

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong AddressBits(ulong mfn) => (mfn << 12) & AddressMask;

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Leaf(ulong mfn, int level, PteAccess access)
    {
        var pte = ((mfn << 12) & AddressMask) | PR;
        if ((access & PteAccess.Read) != 0)
        {
            pte |= IR;
        }

        if ((access & PteAccess.Write) != 0)
        {
            pte |= IW;
        }

        return (access & PteAccess.Cache) != 0 ? pte | FC : pte;
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Table(ulong tableMfn, int level) =>
        ((tableMfn << 12) & AddressMask) | ((ulong)(level - 1) << NextLevelShift) | IR | IW | PR;

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsPresent(ulong pte) => (pte & PresentBits) != 0;

    /// <inheritdoc/>
    public static ulong PresentBits => PR;

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsLeaf(ulong pte, int level) => level == 1 || (pte & (7UL << NextLevelShift)) == 0;

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Address(ulong pte) => (pte & AddressMask) >> 12;

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong AddressField(ulong pte) => pte & AddressMask;

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static PteAccess Access(ulong pte) =>
        ((pte & IR) != 0 ? PteAccess.Read : PteAccess.None)
        | ((pte & IW) != 0 ? PteAccess.Write : PteAccess.None)
        | ((pte & FC) != 0 ? PteAccess.Cache : PteAccess.None);
}
