using PvIommu.Platform.Memory;

namespace PvIommu.Platform.Iommu;

/// <summary>How the IOMMU treats the DMA of one requester ID.</summary>
public enum DeviceTranslation : byte
{
    /// <summary>Every DMA faults (no context entry, or one that permits nothing).</summary>
    Blocked = 0,

    /// <summary>DMA addresses are translated through the page table at <see cref="DeviceContext.Root"/>.</summary>
    Translated = 1,

    /// <summary>DMA addresses are host physical addresses (identity), bounded only by host memory.</summary>
    PassThrough = 2,
}

/// <summary>
/// A context entry in format-neutral terms: what a VT-d context entry (§9.3) and an AMD-Vi
/// device table entry (§2.2.2.1) both say. Convert with <see cref="VtdContextEntry"/> and
/// <see cref="AmdDeviceTableEntry"/>.
/// </summary>
/// <param name="Translation">Blocked, translated or pass-through.</param>
/// <param name="DomainId">The domain-id that tags this requester's IOTLB entries (VT-d DID, AMD DomainID).</param>
/// <param name="Root">The root table's frame (translated contexts only).</param>
/// <param name="Levels">Paging levels of the root table (translated contexts only): 4 is 48 bits, 5 is 57.</param>
public readonly record struct DeviceContext(DeviceTranslation Translation, ushort DomainId, Mfn Root, int Levels)
{
    /// <summary>The canonical blocked context: all fields zero.</summary>
    public static DeviceContext Blocked => default;

    /// <summary>Translation through the <paramref name="levels"/>-level table rooted at <paramref name="root"/>.</summary>
    public static DeviceContext Translated(ushort domainId, Mfn root, int levels) =>
        new(DeviceTranslation.Translated, domainId, root, levels);

    /// <summary>Identity translation, tagged with <paramref name="domainId"/>.</summary>
    public static DeviceContext PassThrough(ushort domainId) =>
        new(DeviceTranslation.PassThrough, domainId, default, 0);

    /// <summary>Bits of bus address the context's table covers: 12 + 9 per level (48 for 4 levels, 57 for 5).</summary>
    public int AddressWidth => Translation == DeviceTranslation.Translated ? 12 + (9 * Levels) : 64;

    /// <inheritdoc/>
    public override string ToString() => Translation switch
    {
        DeviceTranslation.Translated => $"translated did={DomainId} root={Root} levels={Levels}",
        DeviceTranslation.PassThrough => $"pass-through did={DomainId}",
        _ => "blocked",
    };
}
