using PvIommu.Platform.Memory;
using PvIommu.Platform.PageTables;

namespace PvIommu.Platform.Iommu;

/// <summary>What a hardware page walk found for one dfn.</summary>
/// <param name="Found">A present leaf maps the dfn.</param>
/// <param name="Mfn">The 4 KiB frame the dfn lands in (the leaf's frame plus the offset inside a superpage).</param>
/// <param name="Access">Read/write ANDed over every level, plus the leaf's cache attribute.</param>
/// <param name="Level">The leaf's level (1 = 4 KiB, 2 = 2 MiB, 3 = 1 GiB); when not found, the level of the entry that stopped the walk.</param>
/// <param name="Steps">Page-table words read (memory accesses, for the cost model).</param>
public readonly record struct PageWalk(bool Found, Mfn Mfn, PteAccess Access, int Level, int Steps)
{
    /// <summary>A walk stopped by a non-present (or malformed) entry at <paramref name="level"/>.</summary>
    public static PageWalk NotPresent(int level, int steps) => new(false, default, PteAccess.None, level, steps);
}
