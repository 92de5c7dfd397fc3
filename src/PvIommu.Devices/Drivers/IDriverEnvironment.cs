namespace PvIommu.Devices.Drivers;

/// <summary>Which way a mapped buffer's data flows (Linux's <c>enum dma_data_direction</c>).</summary>
public enum DmaDirection : byte
{
    /// <summary>Both ways: descriptor rings the device reads and writes back (IOMMU read and write).</summary>
    Bidirectional = 0,

    /// <summary>The device reads it: transmit buffers, submission queues, write-command data (IOMMU read).</summary>
    ToDevice = 1,

    /// <summary>The device writes it: receive buffers, completion queues, read-command data (IOMMU write).</summary>
    FromDevice = 2,
}

/// <summary>
/// What a device driver needs from the operating system it runs in: pages of its own RAM, CPU
/// access to them, and a DMA API that maps pages to bus addresses (IOVAs) for its device. The
/// simulation binds it to a guest (RAM by gfn, the PV-IOMMU driver's DMA API); tests bind it to
/// a hand-built IOMMU context.
/// </summary>
/// <remarks>
/// Page addresses are the driver's own (guest-physical) byte addresses of 4 KiB pages; the
/// device never sees them, only the IOVAs <see cref="TryMap"/> returns. CPU accesses stay
/// inside one page. Failures are values: a driver that cannot get a page or a mapping backs
/// out and reports it.
/// </remarks>
public interface IDriverEnvironment
{
    /// <summary>Allocates one 4 KiB page of the driver's RAM (contents unspecified).</summary>
    /// <returns>False when memory is exhausted.</returns>
    bool TryAllocatePage(out ulong page);

    /// <summary>Frees a page from <see cref="TryAllocatePage"/> (it must no longer be mapped).</summary>
    void FreePage(ulong page);

    /// <summary>The CPU reads driver memory at <paramref name="address"/> (within one page).</summary>
    void Read(ulong address, Span<byte> destination);

    /// <summary>The CPU writes driver memory at <paramref name="address"/> (within one page).</summary>
    void Write(ulong address, ReadOnlySpan<byte> source);

    /// <summary>
    /// Maps <paramref name="pages"/> for the device, in order, at one contiguous IOVA range
    /// (<c>dma_map_sg</c> with an IOMMU; one page is <c>dma_map_page</c>).
    /// </summary>
    /// <returns>False when no IOVA space or mapping could be had; nothing is then mapped.</returns>
    bool TryMap(ReadOnlySpan<ulong> pages, DmaDirection direction, out ulong iova);

    /// <summary>
    /// Maps each of <paramref name="pages"/> as a page of its own, at its own IOVA, unmapped one
    /// by one later (a page pool's bulk refill). An environment that can batch the maps (one
    /// multicall) overrides this; the default maps them one at a time.
    /// </summary>
    /// <param name="pages">The pages.</param>
    /// <param name="direction">Which way the data flows.</param>
    /// <param name="iovas">Receives each page's IOVA; at least as long as <paramref name="pages"/>.</param>
    /// <returns>False when any page could not be mapped; nothing is then mapped.</returns>
    bool TryMapEach(ReadOnlySpan<ulong> pages, DmaDirection direction, Span<ulong> iovas) =>
        MapOneByOne(this, pages, direction, iovas);

    /// <summary>
    /// <see cref="TryMapEach"/> as single-page <see cref="TryMap"/> calls, undoing the ones done
    /// when one fails (the default, and what an environment that only counts calls can use).
    /// </summary>
    /// <returns>False when a page could not be mapped; nothing is then mapped.</returns>
    static bool MapOneByOne(IDriverEnvironment environment, ReadOnlySpan<ulong> pages, DmaDirection direction, Span<ulong> iovas)
    {
        ArgumentNullException.ThrowIfNull(environment);
        for (var i = 0; i < pages.Length; i++)
        {
            if (!environment.TryMap(pages.Slice(i, 1), direction, out iovas[i]))
            {
                for (var j = 0; j < i; j++)
                {
                    environment.Unmap(iovas[j], 1, direction);
                }

                return false;
            }
        }

        return true;
    }

    /// <summary>Unmaps <paramref name="pages"/> pages at <paramref name="iova"/> (<c>dma_unmap_*</c>); the device may not reach them afterwards.</summary>
    void Unmap(ulong iova, int pages, DmaDirection direction);
}
