using PvIommu.Abi.Structs;

namespace PvIommu.Abi;

/// <summary>
/// <c>cap_flags</c> of <see cref="Capabilities"/> (spec §2): what this hypervisor supports.
/// </summary>
[Flags]
public enum CapFlags : uint
{
    /// <summary>No capability.</summary>
    None = 0,

    /// <summary>Bit 0: context 0 lets devices reach the domain's memory (clear: context 0 blocks DMA).</summary>
    DefaultIdentity = 1u << 0,

    /// <summary>Bit 1: <see cref="MapFlags.Cache"/> is honoured.</summary>
    Cache = 1u << 1,

    /// <summary>Bit 2: nested contexts (sub-ops 9 and 10).</summary>
    Nested = 1u << 2,

    /// <summary>Bit 3: PASIDs (sub-ops 11 and 12, and the <c>pasid</c> field of reattach).</summary>
    Pasid = 1u << 3,

    /// <summary>Bit 4: <see cref="AllocFlags.Identity"/> works.</summary>
    Identity = 1u << 4,

    /// <summary>Bit 5: <see cref="MapFlags.NoFlush"/> and flush_pages work.</summary>
    DeferredFlush = 1u << 5,

    /// <summary>Bit 6: lookup_page works (this project's extension).</summary>
    Lookup = 1u << 6,
}

/// <summary><c>alloc_flags</c> of <see cref="Alloc"/> (spec §2).</summary>
[Flags]
public enum AllocFlags : uint
{
    /// <summary>An empty context.</summary>
    None = 0,

    /// <summary>Bit 0: the context maps every RAM page of the domain at dfn = gfn.</summary>
    Identity = 1u << 0,
}

/// <summary><c>free_flags</c> of <see cref="Free"/> (spec §2).</summary>
[Flags]
public enum FreeFlags : uint
{
    /// <summary>Refuse (-EBUSY) when devices are still attached.</summary>
    None = 0,

    /// <summary>Bit 0: move attached devices back to context 0 instead of failing.</summary>
    ReattachDefault = 1u << 0,
}

/// <summary><c>map_flags</c> of <see cref="MapPages"/> and <see cref="LookupPage"/> (spec §2).</summary>
[Flags]
public enum MapFlags : uint
{
    /// <summary>No access (map_pages rejects it with -EINVAL).</summary>
    None = 0,

    /// <summary>Bit 0: devices may read.</summary>
    Readable = 1u << 0,

    /// <summary>Bit 1: devices may write.</summary>
    Writeable = 1u << 1,

    /// <summary>Bit 2: DMA snoops the CPU caches.</summary>
    Cache = 1u << 2,

    /// <summary>Bit 3: skip the IOTLB invalidation; the caller calls flush_pages later.</summary>
    NoFlush = 1u << 3,
}

/// <summary>
/// The known mask of each flag family: every bit this ABI defines. A set bit outside it gets
/// -EINVAL (spec §2, style habit 6), so a handler tests <c>(flags &amp; ~KnownFlags.Map) != 0</c>.
/// </summary>
public static class KnownFlags
{
    /// <summary>Every capability bit this ABI defines (bits 0..6).</summary>
    public const CapFlags Cap =
        CapFlags.DefaultIdentity | CapFlags.Cache | CapFlags.Nested | CapFlags.Pasid
        | CapFlags.Identity | CapFlags.DeferredFlush | CapFlags.Lookup;

    /// <summary>Every alloc flag this ABI defines (bit 0).</summary>
    public const AllocFlags Alloc = AllocFlags.Identity;

    /// <summary>Every free flag this ABI defines (bit 0).</summary>
    public const FreeFlags Free = FreeFlags.ReattachDefault;

    /// <summary>Every map flag this ABI defines (bits 0..3).</summary>
    public const MapFlags Map = MapFlags.Readable | MapFlags.Writeable | MapFlags.Cache | MapFlags.NoFlush;
}
