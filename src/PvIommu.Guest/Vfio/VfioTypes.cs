namespace PvIommu.Guest.Vfio;

/// <summary>Access of a user mapping (<c>VFIO_DMA_MAP_FLAG_READ</c> / <c>_WRITE</c>).</summary>
[Flags]
public enum VfioDmaFlags
{
    /// <summary>No access (refused: -EINVAL).</summary>
    None = 0,

    /// <summary>The device may read.</summary>
    Read = 1 << 0,

    /// <summary>The device may write.</summary>
    Write = 1 << 1,
}

/// <summary>A usable IOVA range, both ends inclusive (<c>struct vfio_iova_range</c>).</summary>
/// <param name="Start">First byte address.</param>
/// <param name="End">Last byte address.</param>
public readonly record struct IovaRange(ulong Start, ulong End)
{
    /// <summary>Whether the <paramref name="size"/> bytes from <paramref name="iova"/> lie inside.</summary>
    public bool Contains(ulong iova, ulong size) => size != 0 && iova >= Start && iova <= End && size - 1 <= End - iova;

    /// <inheritdoc/>
    public override string ToString() => $"[{Start:x}, {End:x}]";
}

/// <summary>Limits of a container (vfio_iommu_type1's module parameters and the process's rlimit).</summary>
public sealed record VfioOptions
{
    /// <summary>Mappings a container may hold (<c>dma_entry_limit</c>, 65535 by default); one more gets -ENOSPC.</summary>
    public int DmaEntryLimit { get; init; } = ushort.MaxValue;

    /// <summary>Pages the user may have pinned at once (RLIMIT_MEMLOCK); beyond it -ENOMEM.</summary>
    public ulong LockedPagesLimit { get; init; } = ulong.MaxValue;
}
