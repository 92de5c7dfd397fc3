namespace PvIommu.Abi;

/// <summary>
/// Page sizes for <c>pgsize</c> and <c>pgsize_mask</c> (spec §3 query_capabilities): a size is a
/// power of two in bytes and the mask is the OR of the supported sizes.
/// </summary>
public static class PageSizes
{
    /// <summary>4 KiB, one frame.</summary>
    public const uint Size4K = 1u << 12;

    /// <summary>2 MiB, 512 frames.</summary>
    public const uint Size2M = 1u << 21;

    /// <summary>1 GiB, 262144 frames.</summary>
    public const uint Size1G = 1u << 30;

    /// <summary>The <c>pgsize_mask</c> this project advertises: 4 KiB | 2 MiB | 1 GiB.</summary>
    public const uint SupportedMask = Size4K | Size2M | Size1G;

    /// <summary>Whether <paramref name="pgsize"/> is exactly one of the sizes in <see cref="SupportedMask"/>.</summary>
    public static bool IsSupported(uint pgsize) => uint.IsPow2(pgsize) && (pgsize & SupportedMask) != 0;

    /// <summary>4 KiB frames in one page of <paramref name="pgsize"/> bytes (a supported size).</summary>
    public static ulong FramesPerPage(uint pgsize) => pgsize / Size4K;
}
