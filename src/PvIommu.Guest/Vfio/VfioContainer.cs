using PvIommu.Abi;
using PvIommu.Guest.Dma;

namespace PvIommu.Guest.Vfio;

/// <summary>
/// A VFIO type1 container with one device: the device gets a context of its own, and a
/// user-space driver maps its own pages at IOVAs it picks (<c>VFIO_IOMMU_MAP_DMA</c> /
/// <c>UNMAP_DMA</c>). Pages are pinned while mapped; the device reaches nothing else.
/// </summary>
/// <remarks>
/// Errors follow vfio_iommu_type1 with the closed Xen errno set: an IOVA already mapped is
/// -EADDRINUSE (Linux: -EEXIST, which that set has not); an IOVA outside the usable ranges,
/// or an unmap that would split a mapping, -EINVAL; no mapping slot left, -ENOSPC.
/// </remarks>
public sealed partial class VfioContainer
{
    private readonly IntervalTreap _ranges = new();
    private readonly Dictionary<ulong, UserMapping> _mappings = [];
    private readonly Dictionary<ulong, int> _pins = [];
    private readonly IReadOnlyList<ReservedRange> _reserved;

    private VfioContainer(XenIommuDriver driver, PciAddress device, PagingDomain domain, VfioOptions options)
    {
        Driver = driver;
        Device = device;
        Domain = domain;
        Options = options;
        _reserved = driver.ReservedRegions(device);
    }

    /// <summary>The driver underneath.</summary>
    public XenIommuDriver Driver { get; }

    /// <summary>The device the user drives.</summary>
    public PciAddress Device { get; }

    /// <summary>The device's own context.</summary>
    public PagingDomain Domain { get; }

    /// <summary>Its limits.</summary>
    public VfioOptions Options { get; }

    /// <summary>Mappings held.</summary>
    public int Mappings => _mappings.Count;

    /// <summary>Mappings that may still be made (<c>dma_avail</c>).</summary>
    public int DmaAvailable => Options.DmaEntryLimit - _mappings.Count;

    /// <summary>Pages pinned for mappings (counted per mapping, as locked_vm is).</summary>
    public ulong LockedPages { get; private set; }

    /// <summary>Whether <see cref="Release"/> ran.</summary>
    public bool IsReleased { get; private set; }

    /// <summary>
    /// Opens a container for <paramref name="device"/>: a new paging domain, the device attached.
    /// </summary>
    /// <returns>0; -ENODEV without PV-IOMMU or for a device outside the platform description; the hypervisor's error.</returns>
    public static int Open(XenIommuDriver driver, PciAddress device, VfioOptions? options, out VfioContainer? container)
    {
        ArgumentNullException.ThrowIfNull(driver);
        container = null;
        if (!driver.IsAvailable || driver.FindDevice(device) is null)
        {
            return XenErrno.ENODEV.ToReturnValue();
        }

        var ret = driver.AllocPagingDomain(out var domain);
        if (ret != 0)
        {
            return ret;
        }

        ret = driver.Attach(device, domain!);
        if (ret != 0)
        {
            domain!.Free();
            return ret;
        }

        container = new VfioContainer(driver, device, domain!, options ?? new VfioOptions());
        return 0;
    }

    /// <summary>
    /// <c>VFIO_IOMMU_GET_INFO</c>'s IOVA-range capability: [0, max_iova_addr] without the
    /// device's reserved regions (MSI window, RMRRs).
    /// </summary>
    public IReadOnlyList<IovaRange> IovaRanges()
    {
        var ranges = new List<IovaRange>();
        var next = 0UL;
        var last = Driver.Capabilities.MaxIovaAddr;
        foreach (var region in _reserved.OrderBy(r => r.Dfn))
        {
            var start = region.Dfn << 12;
            if (start > next)
            {
                ranges.Add(new IovaRange(next, Math.Min(start - 1, last)));
            }

            next = Math.Max(next, region.End << 12);
        }

        if (next <= last)
        {
            ranges.Add(new IovaRange(next, last));
        }

        return ranges;
    }

    /// <summary>Whether guest frame <paramref name="gfn"/> is pinned by a mapping.</summary>
    public bool IsPinned(ulong gfn) => _pins.ContainsKey(gfn);

    private sealed record UserMapping(ulong Pfn, ulong[] Gfns);
}
