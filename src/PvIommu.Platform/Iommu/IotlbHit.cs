using PvIommu.Platform.Memory;
using PvIommu.Platform.PageTables;

namespace PvIommu.Platform.Iommu;

/// <summary>A translation served from the IOTLB.</summary>
/// <param name="Mfn">The 4 KiB frame the dfn lands in.</param>
/// <param name="Access">The rights cached with the entry.</param>
/// <param name="Level">The size of the cached leaf (1 = 4 KiB, 2 = 2 MiB, 3 = 1 GiB).</param>
public readonly record struct IotlbHit(Mfn Mfn, PteAccess Access, int Level);
