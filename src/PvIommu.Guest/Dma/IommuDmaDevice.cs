using PvIommu.Abi;

namespace PvIommu.Guest.Dma;

/// <summary>
/// The DMA API over a paging domain (Linux's <c>dma-iommu.c</c>): IOVA from the allocator,
/// map through <see cref="PagingDomain.Map(ulong, ReadOnlySpan{ulong}, MapFlags)"/>, unmap
/// strict or deferred.
/// </summary>
internal sealed partial class IommuDmaDevice : DmaDevice
{
    private const ulong Window32End = 1UL << 20;

    private readonly PagingDomain _domain;
    private readonly IovaAllocator _iova;
    private readonly PfnMap<(ulong Pages, DmaDirection Direction)> _live = new();
    private long _maps;
    private long _mapFailures;
    private long _unmaps;
    private long _unmapFailures;
    private bool _shutDown;

    private IommuDmaDevice(XenIommuDriver driver, PciAddress device, DmaOptions options, PagingDomain domain, IovaAllocator iova)
        : base(driver, device, options)
    {
        _domain = domain;
        _iova = iova;
    }

    public override bool IsProtected => !_shutDown;

    public override IommuDomain Domain => _domain;

    public override DmaCounters Counters => new()
    {
        Maps = _maps,
        MapFailures = _mapFailures,
        Unmaps = _unmaps,
        UnmapFailures = _unmapFailures,
        Queued = _queued,
        QueueFlushes = _flushesByCount + _flushesByTimer + _flushesOnDemand,
        FlushesByCount = _flushesByCount,
        FlushesByTimer = _flushesByTimer,
        FlushesOnDemand = _flushesOnDemand,
        LiveMappings = _live.Count,
        QueuedNow = _queue.Count,
        Iova = _iova.Counters,
    };

    /// <inheritdoc/>
    public override IEnumerable<DmaMapping> Mappings() => _live.Entries().Select(m => new DmaMapping(m.Key, m.Value.Pages, m.Value.Direction));

    /// <summary>The allocator (for tests and reports).</summary>
    internal IovaAllocator Iova => _iova;

    private bool Deferred => Options.Policy == UnmapPolicy.Deferred;

    public static int Open(XenIommuDriver driver, PciAddress device, DmaOptions options, out DmaDevice? dma)
    {
        dma = null;
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

        // IOVA 0 is never handed out (a zero dma address reads as an error to many drivers).
        var last = Math.Min(driver.Capabilities.MaxIovaAddr, options.DmaMaskBits >= 64 ? ulong.MaxValue : (1UL << options.DmaMaskBits) - 1);
        var iova = new IovaAllocator(1, (last >> 12) + 1, options.Iova);
        foreach (var region in driver.ReservedRegions(device))
        {
            iova.Reserve(region.Dfn, region.Frames);
        }

        dma = new IommuDmaDevice(driver, device, options, domain!, iova);
        return 0;
    }

    public override int MapPages(int cpu, ReadOnlySpan<ulong> gfns, ulong offset, ulong length, DmaDirection direction, out ulong dmaAddress)
    {
        dmaAddress = 0;
        Poll();
        var pages = PagesSpanned(offset, length);
        ulong pfn = 0;
        var ret = _shutDown ? XenErrno.ENODEV.ToReturnValue()
            : pages == 0 || offset > 0xFFF || (ulong)gfns.Length < pages ? XenErrno.EINVAL.ToReturnValue()
            : MapBlock(cpu, gfns[..(int)pages], direction, out pfn);
        if (ret != 0)
        {
            _mapFailures++;
            return ret;
        }

        dmaAddress = (pfn << 12) | offset;
        return 0;
    }

    public override int MapEach(int cpu, ReadOnlySpan<ulong> gfns, DmaDirection direction, Span<ulong> dmaAddresses)
    {
        Poll();
        if (!_shutDown && gfns.IsEmpty)
        {
            return 0;
        }

        if (_shutDown || dmaAddresses.Length < gfns.Length)
        {
            _mapFailures++;
            return (_shutDown ? XenErrno.ENODEV : XenErrno.EINVAL).ToReturnValue();
        }

        var pfns = dmaAddresses[..gfns.Length];
        for (var i = 0; i < gfns.Length; i++)
        {
            if (!AllocateIova(cpu, 1, out pfns[i]))
            {
                FreeIovas(cpu, pfns[..i]);
                _mapFailures++;
                return XenErrno.ENOMEM.ToReturnValue();
            }
        }

        var ret = _domain.MapEach(pfns, gfns, Protection(direction) | (Deferred ? MapFlags.NoFlush : 0));
        if (ret != 0)
        {
            FreeIovas(cpu, pfns);
            _mapFailures++;
            return ret;
        }

        for (var i = 0; i < pfns.Length; i++)
        {
            _live.Add(pfns[i], (1, direction));
            pfns[i] <<= 12;
        }

        _maps += pfns.Length;
        return 0;
    }

    public override int MapSg(int cpu, IReadOnlyList<DmaSegment> segments, DmaDirection direction, out DmaSgMapping? mapping)
    {
        mapping = null;
        Poll();
        var normalised = segments.Select(s => s.Normalised).ToArray();
        if (_shutDown || normalised.Length == 0 || normalised.Any(s => s.Length == 0))
        {
            _mapFailures++;
            return (_shutDown ? XenErrno.ENODEV : XenErrno.EINVAL).ToReturnValue();
        }

        // Each segment takes whole pages of one IOVA block, in order (iommu_dma_map_sg).
        var gfns = new List<ulong>();
        var firstPage = new ulong[normalised.Length];
        for (var i = 0; i < normalised.Length; i++)
        {
            firstPage[i] = (ulong)gfns.Count;
            for (ulong p = 0; p < normalised[i].Pages; p++)
            {
                gfns.Add(normalised[i].Gfn + p);
            }
        }

        var ret = MapBlock(cpu, gfns.ToArray(), direction, out var pfn);
        if (ret != 0)
        {
            _mapFailures++;
            return ret;
        }

        var addresses = new ulong[normalised.Length];
        for (var i = 0; i < normalised.Length; i++)
        {
            addresses[i] = ((pfn + firstPage[i]) << 12) | normalised[i].Offset;
        }

        mapping = new DmaSgMapping(addresses, normalised, pfn, (ulong)gfns.Count);
        return 0;
    }

    public override int Unmap(int cpu, ulong dmaAddress, ulong length)
    {
        Poll();
        return UnmapBlock(cpu, dmaAddress >> 12, PagesSpanned(dmaAddress & 0xFFF, length));
    }

    public override int UnmapSg(int cpu, DmaSgMapping mapping)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        Poll();
        return UnmapBlock(cpu, mapping.Pfn, mapping.Pages);
    }

    public override int Shutdown()
    {
        if (_shutDown)
        {
            return 0;
        }

        var first = FlushQueue();
        foreach (var (pfn, (pages, _)) in _live.Entries().ToArray())
        {
            var ret = UnmapBlock(0, pfn, pages);
            first = first != 0 ? first : ret;
        }

        first = first != 0 ? first : FlushQueue();
        var released = Driver.Release(Device);
        first = first != 0 ? first : released;
        if (released == 0)
        {
            var freed = _domain.Free();
            first = first != 0 ? first : freed;
        }

        _shutDown = true;
        return first;
    }

    /// <summary>An IOVA block for <paramref name="gfns"/>, mapped; on any failure nothing stays.</summary>
    private int MapBlock(int cpu, ReadOnlySpan<ulong> gfns, DmaDirection direction, out ulong pfn)
    {
        var pages = (ulong)gfns.Length;
        if (!AllocateIova(cpu, pages, out pfn))
        {
            return XenErrno.ENOMEM.ToReturnValue();
        }

        var flags = Protection(direction) | (Deferred ? MapFlags.NoFlush : 0);
        var ret = _domain.Map(pfn, gfns, flags);
        if (ret != 0)
        {
            _iova.Free(cpu, pfn, pages);
            return ret;
        }

        _live.Add(pfn, (pages, direction));
        _maps++;
        return 0;
    }

    private void FreeIovas(int cpu, ReadOnlySpan<ulong> pfns)
    {
        foreach (var pfn in pfns)
        {
            _iova.Free(cpu, pfn, 1);
        }
    }

    private bool AllocateIova(int cpu, ulong pages, out ulong pfn)
    {
        var limit = _iova.EndPfn;
        if (Options.Prefer32BitWindow && limit > Window32End && _iova.TryAllocate(cpu, pages, Window32End, out pfn, flushCachesOnFailure: false))
        {
            return true;
        }

        if (_iova.TryAllocate(cpu, pages, limit, out pfn))
        {
            return true;
        }

        // Blocks waiting in the deferred queue are not free yet: issue them and try again.
        if (_queue.Count == 0)
        {
            return false;
        }

        _flushesOnDemand++;
        Flush();
        return _iova.TryAllocate(cpu, pages, limit, out pfn);
    }

    private int UnmapBlock(int cpu, ulong pfn, ulong pages)
    {
        if (_shutDown)
        {
            return XenErrno.ENODEV.ToReturnValue();
        }

        if (!_live.TryGetValue(pfn, out var mapped))
        {
            return XenErrno.ENOENT.ToReturnValue();
        }

        if (mapped.Pages != pages)
        {
            // A wrong length unmaps nothing: the mapping stays live.
            return XenErrno.EINVAL.ToReturnValue();
        }

        _live.Remove(pfn, out _);
        _unmaps++;
        if (Deferred && pages <= uint.MaxValue)
        {
            // (A queued unmap is one unmap_pages entry: its count must fit the u32 field.)
            Enqueue(cpu, pfn, pages);
            return 0;
        }

        var ret = _domain.Unmap(pfn, pages, out _);
        if (ret != 0)
        {
            // The block may still be partly mapped: never hand it out again.
            _unmapFailures++;
            return ret;
        }

        _iova.Free(cpu, pfn, pages);
        return 0;
    }
}
