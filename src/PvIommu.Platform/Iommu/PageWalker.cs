using System.Runtime.CompilerServices;
using PvIommu.Platform.Memory;
using PvIommu.Platform.PageTables;

namespace PvIommu.Platform.Iommu;

/// <summary>
/// The IOMMU's page walker: reads PTE words from machine memory, root first, the way the
/// hardware does (VT-d §3.7 second-level translation over §9.8 entries; AMD-Vi §2.2.3 I/O page
/// tables). It checks what the hypervisor wrote, not what the hypervisor meant.
/// </summary>
/// <remarks>
/// <code>
///  dfn bits:  [44:36]    [35:27]    [26:18]    [17:9]    [8:0]
///              level 5    level 4    level 3    level 2   level 1   (a 4-level table starts at 4)
///  root ──► L4[i4] ──► L3[i3] ──► L2[i2] ──► L1[i1] = 4 KiB leaf
///                        │          └─ PS / NextLevel 0: 2 MiB leaf
///                        └─ PS / NextLevel 0: 1 GiB leaf
/// </code>
/// Read and write rights are ANDed at every level (both formats check them on non-leaf
/// entries too); the cache attribute is the leaf's. A leaf above level 3, or a superpage leaf
/// whose frame is not aligned to its size, sets reserved bits: the hardware refuses it, and
/// this walker reports it as not present; so does a table pointer past host memory.
/// </remarks>
public static class PageWalker
{
    /// <summary>Walks the <paramref name="levels"/>-level table at <paramref name="root"/> for <paramref name="dfn"/>.</summary>
    /// <typeparam name="TFormat">The PTE format (<see cref="VtdSecondLevel"/> or <see cref="AmdV1"/>).</typeparam>
    /// <exception cref="ArgumentOutOfRangeException">levels outside 1–6, or a dfn wider than the table (the caller checks the width first).</exception>
    public static PageWalk Walk<TFormat>(MachineMemory memory, Mfn root, int levels, ulong dfn)
        where TFormat : struct, IPteFormat =>
        Walk<TFormat>(memory, root, levels, dfn, out _, out _);

    /// <summary>
    /// <see cref="Walk{TFormat}(MachineMemory, Mfn, int, ulong)"/>, also telling which level-1
    /// table the walk reached and the rights the levels above it granted (for the unit's
    /// paging-structure cache); <paramref name="leafTable"/> is null when the walk stopped above
    /// level 1.
    /// </summary>
    internal static PageWalk Walk<TFormat>(MachineMemory memory, Mfn root, int levels, ulong dfn, out Mfn? leafTable, out PteAccess tableRights)
        where TFormat : struct, IPteFormat
    {
        ArgumentNullException.ThrowIfNull(memory);
        if ((uint)(levels - 1) >= 6 || (dfn >> (PageLevel.Bits * levels)) != 0)
        {
            ThrowBadWalk(levels, dfn);
        }

        var table = root;
        var rights = PteAccess.ReadWrite;
        leafTable = null;
        tableRights = PteAccess.None;
        for (var level = levels; level > 1; level--)
        {
            var steps = levels - level + 1;
            if (!Read<TFormat>(memory, table, level, dfn, out var pte))
            {
                return PageWalk.NotPresent(level, steps);
            }

            var access = TFormat.Access(pte);
            rights &= access;
            if (TFormat.IsLeaf(pte, level))
            {
                return Leaf<TFormat>(pte, level, dfn, rights | (access & PteAccess.Cache), steps);
            }

            table = new Mfn(TFormat.Address(pte));
        }

        leafTable = table;
        tableRights = rights;
        return WalkLeafTable<TFormat>(memory, table, dfn, rights, levels);
    }

    /// <summary>
    /// The last step of a walk: the 4 KiB entry of <paramref name="dfn"/> in the level-1 table
    /// <paramref name="table"/>, under the <paramref name="rights"/> the levels above granted.
    /// <paramref name="steps"/> counts the words read, this one included.
    /// </summary>
    internal static PageWalk WalkLeafTable<TFormat>(MachineMemory memory, Mfn table, ulong dfn, PteAccess rights, int steps)
        where TFormat : struct, IPteFormat
    {
        if (!Read<TFormat>(memory, table, 1, dfn, out var pte))
        {
            return PageWalk.NotPresent(1, steps);
        }

        var access = TFormat.Access(pte);
        return Leaf<TFormat>(pte, 1, dfn, (rights & access) | (access & PteAccess.Cache), steps);
    }

    /// <summary>Reads the entry of <paramref name="dfn"/> at <paramref name="level"/>; false when the table lies past host memory or the entry is not present.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Read<TFormat>(MachineMemory memory, Mfn table, int level, ulong dfn, out ulong pte)
        where TFormat : struct, IPteFormat
    {
        // A table pointer past host memory: the read completes with an error, not a PTE.
        pte = memory.Contains(table) ? memory.ReadWord(table, PageLevel.Index(dfn, level)) : 0;
        return TFormat.IsPresent(pte);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static PageWalk Leaf<TFormat>(ulong pte, int level, ulong dfn, PteAccess access, int steps)
        where TFormat : struct, IPteFormat
    {
        var frames = PageLevel.Frames(level);
        var leaf = TFormat.Address(pte);
        if (level > PageLevel.MaxLeafLevel || (leaf & (frames - 1)) != 0)
        {
            return PageWalk.NotPresent(level, steps);
        }

        return new PageWalk(true, new Mfn(leaf + (dfn & (frames - 1))), access, level, steps);
    }

    private static void ThrowBadWalk(int levels, ulong dfn) =>
        throw new ArgumentOutOfRangeException(nameof(dfn), $"dfn {dfn:x} does not fit a {levels}-level table");
}
