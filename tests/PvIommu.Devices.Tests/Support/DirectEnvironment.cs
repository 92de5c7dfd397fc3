using PvIommu.Devices.Drivers;
using PvIommu.Platform.Memory;
using PvIommu.Platform.PageTables;

namespace PvIommu.Devices.Tests.Support;

/// <summary>
/// A driver environment on bare hardware: RAM pages are machine frames (addresses are machine
/// addresses, as a PV dom0 sees them), and the DMA API writes the device's page table by hand
/// and flushes the IOTLB on every unmap (strict mode). It checks the driver's side of the
/// contract: only its own pages are touched, unmaps match maps, nothing is freed while mapped.
/// </summary>
internal sealed class DirectEnvironment : IDriverEnvironment
{
    private const ulong FirstIovaFrame = 0x100;
    private readonly Bed _bed;
    private readonly DeviceDomain _domain;
    private readonly Stack<ulong> _freePages = new();
    private readonly HashSet<ulong> _allocated = [];
    private readonly Dictionary<ulong, (ulong[] Pages, DmaDirection Direction)> _mappings = [];
    private readonly HashSet<ulong> _mappedPages = [];
    private ulong _nextIovaFrame = FirstIovaFrame;

    public DirectEnvironment(Bed bed, DeviceDomain domain, ulong firstFrame = Bed.RamFirst, ulong frames = Bed.RamFrames)
    {
        _bed = bed;
        _domain = domain;
        for (var f = firstFrame + frames; f-- > firstFrame;)
        {
            _freePages.Push(f << Frame.Shift);
        }
    }

    /// <summary>Maps still allowed before the next one is refused (fault injection).</summary>
    public long MapBudget { get; set; } = long.MaxValue;

    /// <summary>Pages still allowed before the next allocation is refused.</summary>
    public long PageBudget { get; set; } = long.MaxValue;

    public long Maps { get; private set; }

    /// <summary>Calls of <see cref="TryMapEach"/> (a page pool's batched refills).</summary>
    public long MapEachCalls { get; private set; }

    public long Unmaps { get; private set; }

    public long PagesAllocated => _allocated.Count;

    public int LiveMappings => _mappings.Count;

    /// <summary>Every page currently mapped (driver addresses).</summary>
    public IReadOnlyCollection<ulong> MappedPages => _mappedPages;

    public bool TryAllocatePage(out ulong page)
    {
        page = 0;
        if (PageBudget <= 0 || !_freePages.TryPop(out page))
        {
            return false;
        }

        PageBudget--;
        _allocated.Add(page);
        return true;
    }

    public void FreePage(ulong page)
    {
        Assert.True(_allocated.Remove(page), $"freeing a page the driver does not own: {page:x}");
        Assert.False(_mappedPages.Contains(page), $"freeing a page that is still mapped: {page:x}");
        _freePages.Push(page);
    }

    public void Read(ulong address, Span<byte> destination)
    {
        var page = CheckAccess(address, destination.Length);
        _bed.Memory.Read(new Mfn(page >> Frame.Shift), (int)(address - page), destination);
    }

    public void Write(ulong address, ReadOnlySpan<byte> source)
    {
        var page = CheckAccess(address, source.Length);
        _bed.Memory.Write(new Mfn(page >> Frame.Shift), (int)(address - page), source);
    }

    public bool TryMap(ReadOnlySpan<ulong> pages, DmaDirection direction, out ulong iova)
    {
        iova = 0;
        Assert.False(pages.IsEmpty);
        if (MapBudget <= 0)
        {
            return false;
        }

        MapBudget--;
        var dfn = _nextIovaFrame;
        _nextIovaFrame += (ulong)pages.Length + 1; // a guard frame between mappings
        for (var i = 0; i < pages.Length; i++)
        {
            Assert.True(_allocated.Contains(pages[i]), $"mapping a page the driver does not own: {pages[i]:x}");
            Assert.True(_mappedPages.Add(pages[i]), $"mapping a page twice: {pages[i]:x}");
            _domain.Map(dfn + (ulong)i, pages[i] >> Frame.Shift, 1, Access(direction));
        }

        iova = dfn << Frame.Shift;
        _mappings.Add(iova, (pages.ToArray(), direction));
        Maps++;
        return true;
    }

    public bool TryMapEach(ReadOnlySpan<ulong> pages, DmaDirection direction, Span<ulong> iovas)
    {
        MapEachCalls++;
        return IDriverEnvironment.MapOneByOne(this, pages, direction, iovas);
    }

    public void Unmap(ulong iova, int pages, DmaDirection direction)
    {
        Assert.True(_mappings.Remove(iova, out var mapping), $"unmapping {iova:x}, which is not mapped");
        Assert.Equal(mapping.Pages.Length, pages);
        Assert.Equal(mapping.Direction, direction);
        _domain.Unmap(iova >> Frame.Shift, (ulong)pages);
        foreach (var page in mapping.Pages)
        {
            _mappedPages.Remove(page);
        }

        Unmaps++;
    }

    /// <summary>Every page freed, every mapping gone, the device's table empty.</summary>
    public void AssertNoLeaks()
    {
        Assert.Empty(_mappings);
        Assert.Empty(_allocated);
        Assert.True(_domain.Table.IsEmpty);
        Assert.Equal(Maps, Unmaps);
    }

    private static PteAccess Access(DmaDirection direction) => direction switch
    {
        DmaDirection.ToDevice => PteAccess.Read,
        DmaDirection.FromDevice => PteAccess.Write,
        _ => PteAccess.ReadWrite,
    };

    private ulong CheckAccess(ulong address, int length)
    {
        var page = address & ~(ulong)(Frame.Size - 1);
        Assert.True(_allocated.Contains(page), $"CPU access to a page the driver does not own: {address:x}");
        Assert.True((int)(address - page) + length <= Frame.Size, "CPU access crosses a page");
        return page;
    }
}
