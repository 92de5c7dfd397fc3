using PvIommu.Abi;

namespace PvIommu.Guest.Dma;

/// <summary>
/// The DMA API of one device (Linux's <c>dma_map_single</c>, <c>dma_map_sg</c> and their
/// unmaps): with PV-IOMMU, a paging domain of its own with an IOVA allocator and a strict or
/// deferred unmap policy; without it (or in the identity domain), direct mapping, reported as
/// unprotected. CPUs are indices the caller passes; errors are negative Xen errnos.
/// </summary>
public abstract class DmaDevice
{
    private protected DmaDevice(XenIommuDriver driver, PciAddress device, DmaOptions options)
    {
        Driver = driver;
        Device = device;
        Options = options;
    }

    /// <summary>The driver it maps through.</summary>
    public XenIommuDriver Driver { get; }

    /// <summary>The device.</summary>
    public PciAddress Device { get; }

    /// <summary>Its settings.</summary>
    public DmaOptions Options { get; }

    /// <summary>Whether the IOMMU confines the device to what is mapped: false for direct mapping.</summary>
    public abstract bool IsProtected { get; }

    /// <summary>The domain the device is attached to.</summary>
    public abstract IommuDomain Domain { get; }

    /// <summary>What this device's DMA API did.</summary>
    public abstract DmaCounters Counters { get; }

    /// <summary>
    /// The live mappings, in no order (queued unmaps are gone already). Direct mapping reports
    /// none: its addresses are guest-physical and nothing confines the device to them.
    /// </summary>
    public virtual IEnumerable<DmaMapping> Mappings() => [];

    /// <summary>
    /// Sets up the DMA API for <paramref name="device"/>: in fallback mode or with
    /// <see cref="DmaOptions.Identity"/>, direct mapping in context 0; otherwise a new paging
    /// domain with the device attached and an IOVA allocator over the device's DMA window,
    /// its reserved regions excluded.
    /// </summary>
    /// <returns>0; -ENODEV for a device outside the platform description; -EINVAL for a bad mask; the hypervisor's error.</returns>
    public static int Create(XenIommuDriver driver, PciAddress device, DmaOptions? options, out DmaDevice? dma)
    {
        ArgumentNullException.ThrowIfNull(driver);
        options ??= new DmaOptions();
        dma = null;
        if (driver.FindDevice(device) is null)
        {
            return XenErrno.ENODEV.ToReturnValue();
        }

        if (options.DmaMaskBits is < 12 or > 64)
        {
            return XenErrno.EINVAL.ToReturnValue();
        }

        if (!driver.IsAvailable || options.Identity)
        {
            var ret = driver.Release(device);
            if (ret == 0)
            {
                dma = new DirectDmaDevice(driver, device, options);
            }

            return ret;
        }

        return IommuDmaDevice.Open(driver, device, options, out dma);
    }

    /// <summary>4 KiB frames that <paramref name="length"/> bytes from byte <paramref name="offset"/> of a page touch.</summary>
    public static ulong PagesSpanned(ulong offset, ulong length) =>
        length == 0 ? 0 : ((offset & 0xFFF) + length + 0xFFF) >> 12;

    /// <summary><c>dma_map_single</c> of a buffer contiguous in gfns: <paramref name="length"/> bytes from byte <paramref name="offset"/> of <paramref name="gfn"/>.</summary>
    /// <returns>0 with <paramref name="dmaAddress"/> set, or a negative errno (-ENOMEM: no IOVA space).</returns>
    public int MapSingle(int cpu, ulong gfn, ulong offset, ulong length, DmaDirection direction, out ulong dmaAddress)
    {
        var first = gfn + (offset >> 12);
        var pages = PagesSpanned(offset, length);
        var gfns = new ulong[pages];
        for (ulong i = 0; i < pages; i++)
        {
            gfns[i] = first + i;
        }

        return MapPages(cpu, gfns, offset & 0xFFF, length, direction, out dmaAddress);
    }

    /// <summary>
    /// Maps <paramref name="length"/> bytes from byte <paramref name="offset"/> of a buffer whose
    /// pages are <paramref name="gfns"/> (a kernel buffer in a PV guest: contiguous in pseudo-
    /// physical space, scattered in gfns). The device sees one contiguous dma range.
    /// </summary>
    /// <returns>0 with <paramref name="dmaAddress"/> set, or a negative errno.</returns>
    public abstract int MapPages(int cpu, ReadOnlySpan<ulong> gfns, ulong offset, ulong length, DmaDirection direction, out ulong dmaAddress);

    /// <summary>
    /// Maps each of <paramref name="gfns"/> as a page of its own (a page pool's bulk refill:
    /// <c>dma_map_page</c> per page), each at its own dma address, unmapped one by one later.
    /// With PV-IOMMU the maps go out in one multicall: one trap for the batch.
    /// </summary>
    /// <param name="cpu">The CPU (IOVA cache) mapping.</param>
    /// <param name="gfns">The pages.</param>
    /// <param name="direction">The data's direction.</param>
    /// <param name="dmaAddresses">Receives each page's dma address; as long as <paramref name="gfns"/>.</param>
    /// <returns>0, or a negative errno; then none of the pages stays mapped.</returns>
    public virtual int MapEach(int cpu, ReadOnlySpan<ulong> gfns, DmaDirection direction, Span<ulong> dmaAddresses)
    {
        if (dmaAddresses.Length < gfns.Length)
        {
            return XenErrno.EINVAL.ToReturnValue();
        }

        for (var i = 0; i < gfns.Length; i++)
        {
            var ret = MapPages(cpu, gfns.Slice(i, 1), 0, 4096, direction, out dmaAddresses[i]);
            if (ret != 0)
            {
                for (var j = 0; j < i; j++)
                {
                    Unmap(cpu, dmaAddresses[j], 4096);
                }

                return ret;
            }
        }

        return 0;
    }

    /// <summary><c>dma_map_sg</c>: maps every segment, in one IOVA block when the IOMMU is in use.</summary>
    /// <returns>0 with <paramref name="mapping"/> set, or a negative errno; then nothing stays mapped.</returns>
    public abstract int MapSg(int cpu, IReadOnlyList<DmaSegment> segments, DmaDirection direction, out DmaSgMapping? mapping);

    /// <summary><c>dma_unmap_single</c> / <c>dma_unmap_page</c> of a mapping made with the same length.</summary>
    /// <returns>0; -ENOENT for an address that is not mapped; -EINVAL for a length that does not match; the hypervisor's error.</returns>
    public abstract int Unmap(int cpu, ulong dmaAddress, ulong length);

    /// <summary><c>dma_unmap_sg</c>.</summary>
    /// <returns>0 or the error of <see cref="Unmap"/>.</returns>
    public abstract int UnmapSg(int cpu, DmaSgMapping mapping);

    /// <summary>
    /// Runs the deferred policy's timer: flushes the queue when its 10 ms have passed on the
    /// clock. A simulation calls it as time advances; every map and unmap calls it too.
    /// </summary>
    public abstract void Poll();

    /// <summary>Issues every queued unmap now (a no-op for strict and direct devices).</summary>
    /// <returns>0 or the first unmap error.</returns>
    public abstract int FlushQueue();

    /// <summary>
    /// Tears the DMA API down: flushes the queue, unmaps what is still mapped, puts the device
    /// back into context 0 and frees its context. Afterwards every call returns -ENODEV.
    /// </summary>
    /// <returns>0 or the first error.</returns>
    public abstract int Shutdown();

    /// <summary>The IOMMU access a direction needs.</summary>
    internal MapFlags Protection(DmaDirection direction)
    {
        var flags = direction switch
        {
            DmaDirection.ToDevice => MapFlags.Readable,
            DmaDirection.FromDevice => MapFlags.Writeable,
            _ => MapFlags.Readable | MapFlags.Writeable,
        };
        return Driver.Has(CapFlags.Cache) ? flags | MapFlags.Cache : flags;
    }
}
