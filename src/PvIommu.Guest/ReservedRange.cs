namespace PvIommu.Guest;

/// <summary>Why a device-address range is kept out of IOVA allocation.</summary>
public enum ReservedKind
{
    /// <summary>The x86 MSI window (IOMMU_RESV_MSI): writes there are interrupts, never memory.</summary>
    Msi,

    /// <summary>A firmware region the device keeps using (an RMRR, IOMMU_RESV_DIRECT): mapped 1:1 by Xen.</summary>
    Direct,
}

/// <summary>
/// A range of device frames a device must not get as IOVA (Linux's <c>iommu_resv_region</c>).
/// </summary>
/// <param name="Dfn">First device frame.</param>
/// <param name="Frames">Number of 4 KiB frames (at least one).</param>
/// <param name="Kind">MSI window or firmware region.</param>
/// <param name="Name">A name for reports.</param>
public readonly record struct ReservedRange(ulong Dfn, ulong Frames, ReservedKind Kind, string Name)
{
    /// <summary>The x86 MSI window, 0xFEE00000–0xFEEFFFFF: every device has it.</summary>
    public static ReservedRange MsiWindow { get; } = new(0xFEE00, 0x100, ReservedKind.Msi, "msi");

    /// <summary>The first frame after the range.</summary>
    public ulong End => Dfn + Frames;

    /// <summary>Whether the <paramref name="count"/> frames from <paramref name="first"/> touch the range.</summary>
    public bool Overlaps(ulong first, ulong count) => count != 0 && first < End && Dfn < first + count;

    /// <inheritdoc/>
    public override string ToString() => $"{Name} ({Kind}) [{Dfn:x}, +{Frames:x})";
}
