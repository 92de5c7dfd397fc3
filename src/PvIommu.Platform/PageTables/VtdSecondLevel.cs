using System.Runtime.CompilerServices;

namespace PvIommu.Platform.PageTables;

/// <summary>
/// Intel VT-d second-level paging entries (Intel VT-d Architecture Specification, rev. 4.1,
/// §9.8 "Second-Level Paging Entries", and §3.7 "Second-Level Translation").
/// </summary>
/// <remarks>
/// <code>
///  63  62   61..52   51 ................ 12  11   10..8   7   6    5..3   2   1   0
/// [IGN][TM][ IGN  ][  ADDR (HAW-1:12)     ][SNP][ IGN ][PS][IPAT][EMT][X ][W ][R ]
/// </code>
/// An entry with R and W both clear is not present. PS (bit 7) marks a 2 MiB leaf in a
/// level-2 entry and a 1 GiB leaf in a level-3 entry; in a level-1 PTE every present entry
/// is a leaf. SNP (bit 11) is honoured in leaves only. Non-leaf entries carry R|W so that the
/// AND of rights down the walk is decided by the leaf.
/// </remarks>
public readonly struct VtdSecondLevel : IPteFormat
{
    /// <summary>Read permission, bit 0.</summary>
    public const ulong R = 1UL << 0;

    /// <summary>Write permission, bit 1.</summary>
    public const ulong W = 1UL << 1;

    /// <summary>Page size, bit 7: a superpage leaf at level 2 or 3.</summary>
    public const ulong PS = 1UL << 7;

    /// <summary>Snoop behaviour, bit 11 (leaves only).</summary>
    public const ulong Snp = 1UL << 11;

    /// <summary>Address field, bits 51:12.</summary>
    public const ulong AddressMask = 0x000F_FFFF_FFFF_F000UL;

    // SNP (bit 11) shifted down to PteAccess.Cache (bit 2).
    private const int SnpToCache = 9;

    /// <inheritdoc/>
    public static PageTableFormat Kind => PageTableFormat.VtdSecondLevel;

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong AddressBits(ulong mfn) => (mfn << 12) & AddressMask;

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Leaf(ulong mfn, int level, PteAccess access)
    {
        var pte = (mfn << 12) & AddressMask;
        pte |= (ulong)(access & PteAccess.ReadWrite);
        if ((access & PteAccess.Cache) != 0)
        {
            pte |= Snp;
        }

        return level > 1 ? pte | PS : pte;
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Table(ulong tableMfn, int level) => ((tableMfn << 12) & AddressMask) | R | W;

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsPresent(ulong pte) => (pte & PresentBits) != 0;

    /// <inheritdoc/>
    public static ulong PresentBits => R | W;

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsLeaf(ulong pte, int level) => level == 1 || (pte & PS) != 0;

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Address(ulong pte) => (pte & AddressMask) >> 12;

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong AddressField(ulong pte) => pte & AddressMask;

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static PteAccess Access(ulong pte) => (PteAccess)((pte & (R | W)) | ((pte & Snp) >> SnpToCache));
}
