using PvIommu.Abi;

namespace PvIommu.Guest.Dma;

/// <summary>
/// Direct mapping: the device stays in context 0 and the dma address is the guest address
/// (PV: the machine address; PVH: context 0 translates gfns). Nothing confines the device, so
/// this is reported as unprotected. A buffer whose pages are not contiguous in gfns cannot be
/// given one dma range without a bounce buffer, which this model has not: -EINVAL.
/// </summary>
internal sealed class DirectDmaDevice(XenIommuDriver driver, PciAddress device, DmaOptions options)
    : DmaDevice(driver, device, options)
{
    private long _maps;
    private long _mapFailures;
    private long _unmaps;
    private long _live;
    private bool _shutDown;

    public override bool IsProtected => false;

    public override IommuDomain Domain => Driver.IdentityDomain;

    public override DmaCounters Counters => new() { Maps = _maps, MapFailures = _mapFailures, Unmaps = _unmaps, LiveMappings = _live };

    private ulong LastAddress => Options.DmaMaskBits >= 64 ? ulong.MaxValue : (1UL << Options.DmaMaskBits) - 1;

    public override int MapPages(int cpu, ReadOnlySpan<ulong> gfns, ulong offset, ulong length, DmaDirection direction, out ulong dmaAddress)
    {
        dmaAddress = 0;
        var ret = Check(gfns, offset, length, out var address);
        if (ret != 0)
        {
            _mapFailures++;
            return ret;
        }

        dmaAddress = address;
        _maps++;
        _live++;
        return 0;
    }

    public override int MapSg(int cpu, IReadOnlyList<DmaSegment> segments, DmaDirection direction, out DmaSgMapping? mapping)
    {
        mapping = null;
        var addresses = new ulong[segments.Count];
        var normalised = new DmaSegment[segments.Count];
        ulong pages = 0;
        for (var i = 0; i < segments.Count; i++)
        {
            var s = segments[i].Normalised;
            addresses[i] = (s.Gfn << 12) | s.Offset;
            var ret = _shutDown ? XenErrno.ENODEV.ToReturnValue() : CheckRange(addresses[i], s.Length);
            if (ret != 0)
            {
                _mapFailures++;
                return ret;
            }

            normalised[i] = s;
            pages += s.Pages;
        }

        mapping = new DmaSgMapping(addresses, normalised, 0, pages);
        _maps++;
        _live++;
        return 0;
    }

    public override int Unmap(int cpu, ulong dmaAddress, ulong length) => CountUnmap();

    public override int UnmapSg(int cpu, DmaSgMapping mapping) => CountUnmap();

    public override void Poll()
    {
    }

    public override int FlushQueue() => 0;

    public override int Shutdown()
    {
        _shutDown = true;
        return 0;
    }

    private int CountUnmap()
    {
        if (_shutDown)
        {
            return XenErrno.ENODEV.ToReturnValue();
        }

        _unmaps++;
        _live--;
        return 0;
    }

    private int Check(ReadOnlySpan<ulong> gfns, ulong offset, ulong length, out ulong address)
    {
        address = 0;
        if (_shutDown)
        {
            return XenErrno.ENODEV.ToReturnValue();
        }

        var pages = PagesSpanned(offset, length);
        if (pages == 0 || (ulong)gfns.Length < pages || offset > 0xFFF)
        {
            return XenErrno.EINVAL.ToReturnValue();
        }

        for (var i = 1; i < (int)pages; i++)
        {
            if (gfns[i] != gfns[0] + (ulong)i)
            {
                return XenErrno.EINVAL.ToReturnValue();
            }
        }

        address = (gfns[0] << 12) | offset;
        return CheckRange(address, length);
    }

    private int CheckRange(ulong address, ulong length) =>
        length == 0 ? XenErrno.EINVAL.ToReturnValue()
        : address > LastAddress || length - 1 > LastAddress - address ? XenErrno.ERANGE.ToReturnValue()
        : 0;
}
