namespace PvIommu.Abi;

/// <summary>
/// The first argument of <c>iommu_op</c> (spec §2). 0–8 are upstream's implemented sub-ops,
/// 9–12 are declared upstream but return -EOPNOTSUPP, 13 is Edera's flush_pages extension and
/// 14 this project's lookup_page.
/// </summary>
public enum SubOp : uint
{
    /// <summary>0: does nothing; the argument is not touched.</summary>
    Noop = 0,

    /// <summary>1: fills <see cref="Structs.Capabilities"/>.</summary>
    QueryCapabilities = 1,

    /// <summary>2: one-shot per domain limits, <see cref="Structs.Init"/>.</summary>
    Init = 2,

    /// <summary>3: allocates a context, <see cref="Structs.Alloc"/>.</summary>
    AllocContext = 3,

    /// <summary>4: frees a context, <see cref="Structs.Free"/>.</summary>
    FreeContext = 4,

    /// <summary>5: moves a device into a context, <see cref="Structs.ReattachDevice"/>.</summary>
    ReattachDevice = 5,

    /// <summary>6: maps pages into a context, <see cref="Structs.MapPages"/>.</summary>
    MapPages = 6,

    /// <summary>7: unmaps pages from a context, <see cref="Structs.UnmapPages"/>.</summary>
    UnmapPages = 7,

    /// <summary>8: runs an inner sub-op on another domain, <see cref="Structs.RemoteCmd"/>.</summary>
    RemoteCmd = 8,

    /// <summary>9: declared, not implemented (-EOPNOTSUPP), <see cref="Structs.AllocNested"/>.</summary>
    AllocNested = 9,

    /// <summary>10: declared, not implemented (-EOPNOTSUPP); upstream's argument is an empty struct.</summary>
    FlushNested = 10,

    /// <summary>11: declared, not implemented (-EOPNOTSUPP), <see cref="Structs.AttachPasid"/>.</summary>
    AttachPasid = 11,

    /// <summary>12: declared, not implemented (-EOPNOTSUPP), <see cref="Structs.DetachPasid"/>.</summary>
    DetachPasid = 12,

    /// <summary>13 (extension): invalidates the IOTLB for a range, <see cref="Structs.FlushPages"/>.</summary>
    FlushPages = 13,

    /// <summary>14 (extension): reads one translation back, <see cref="Structs.LookupPage"/>.</summary>
    LookupPage = 14,
}
