namespace PvIommu.Devices.Drivers;

/// <summary>
/// A zeroed, device-visible block of driver memory: whole pages, allocated one by one (they
/// need not be contiguous in RAM) and mapped at one contiguous IOVA range, as
/// <c>dma_alloc_coherent</c> gives a driver its descriptor rings and queues.
/// </summary>
/// <remarks>
/// <code>
///  IOVA:    Iova ─► [ page 0 ][ page 1 ] … [ page n−1 ]    contiguous for the device
///  RAM:             p0        p7            p3             wherever the allocator found them
/// </code>
/// The CPU side (<see cref="Read"/>, <see cref="Write"/>) takes offsets into the block and
/// finds the page; the device uses <see cref="Iova"/> + offset.
/// </remarks>
public sealed class DmaRegion
{
    private const int PageSize = 4096;
    private readonly IDriverEnvironment _environment;
    private readonly ulong[] _pages;
    private bool _released;

    private DmaRegion(IDriverEnvironment environment, ulong[] pages, ulong iova, int bytes, DmaDirection direction)
    {
        _environment = environment;
        _pages = pages;
        Iova = iova;
        Bytes = bytes;
        Direction = direction;
    }

    /// <summary>The device's address of the first byte.</summary>
    public ulong Iova { get; }

    /// <summary>Bytes asked for (the pages may hold more).</summary>
    public int Bytes { get; }

    /// <summary>Pages in the block.</summary>
    public int PageCount => _pages.Length;

    /// <summary>The mapping's direction.</summary>
    public DmaDirection Direction { get; }

    /// <summary>The driver's address of page <paramref name="index"/>.</summary>
    public ulong PageAddress(int index) => _pages[index];

    /// <summary>Allocates, zeroes and maps a block of at least <paramref name="bytes"/> bytes.</summary>
    /// <returns>Null when a page or the mapping was refused; nothing is then held.</returns>
    public static DmaRegion? TryCreate(IDriverEnvironment environment, int bytes, DmaDirection direction)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentOutOfRangeException.ThrowIfLessThan(bytes, 1);
        var pages = new ulong[(bytes + PageSize - 1) / PageSize];
        ReadOnlySpan<byte> zero = new byte[PageSize];
        for (var i = 0; i < pages.Length; i++)
        {
            if (!environment.TryAllocatePage(out pages[i]))
            {
                FreePages(environment, pages.AsSpan(0, i));
                return null;
            }

            environment.Write(pages[i], zero);
        }

        if (!environment.TryMap(pages, direction, out var iova))
        {
            FreePages(environment, pages);
            return null;
        }

        return new DmaRegion(environment, pages, iova, bytes, direction);
    }

    /// <summary>The CPU reads bytes at <paramref name="offset"/> into the block.</summary>
    public void Read(int offset, Span<byte> destination)
    {
        CheckRange(offset, destination.Length);
        for (var done = 0; done < destination.Length;)
        {
            var at = offset + done;
            var length = Math.Min(PageSize - (at % PageSize), destination.Length - done);
            _environment.Read(_pages[at / PageSize] + (ulong)(at % PageSize), destination.Slice(done, length));
            done += length;
        }
    }

    /// <summary>The CPU writes bytes at <paramref name="offset"/> into the block.</summary>
    public void Write(int offset, ReadOnlySpan<byte> source)
    {
        CheckRange(offset, source.Length);
        for (var done = 0; done < source.Length;)
        {
            var at = offset + done;
            var length = Math.Min(PageSize - (at % PageSize), source.Length - done);
            _environment.Write(_pages[at / PageSize] + (ulong)(at % PageSize), source.Slice(done, length));
            done += length;
        }
    }

    /// <summary>Unmaps the block and frees its pages; later calls do nothing.</summary>
    public void Release()
    {
        if (_released)
        {
            return;
        }

        _released = true;
        _environment.Unmap(Iova, _pages.Length, Direction);
        FreePages(_environment, _pages);
    }

    private static void FreePages(IDriverEnvironment environment, ReadOnlySpan<ulong> pages)
    {
        foreach (var page in pages)
        {
            environment.FreePage(page);
        }
    }

    private void CheckRange(int offset, int length)
    {
        ObjectDisposedException.ThrowIf(_released, this);
        if (offset < 0 || length < 0 || offset > _pages.Length * PageSize - length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), offset, $"{length} bytes outside a {_pages.Length}-page region");
        }
    }
}
