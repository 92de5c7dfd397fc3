namespace PvIommu.Devices;

/// <summary>
/// Memory on the device's side of the bus (an NVMe namespace's media, a GPU's VRAM): sparse,
/// 4 KiB pages made on first write, zero until written. Only its device moves bytes between
/// it and host memory, by DMA; tests and the simulation may look at it directly.
/// </summary>
/// <remarks>
/// <code>
///  offset:  [ page (offset &gt;&gt; 12) ][ byte in page (12 bits) ]
///  _pages[page] ─► byte[4096], absent = all zero
/// </code>
/// </remarks>
public sealed class LocalMemory
{
    private const int PageShift = 12;
    private const int PageSize = 1 << PageShift;
    private readonly Dictionary<ulong, byte[]> _pages = [];

    /// <summary>Device memory of <paramref name="size"/> bytes, all zero.</summary>
    public LocalMemory(ulong size)
    {
        ArgumentOutOfRangeException.ThrowIfZero(size);
        Size = size;
    }

    /// <summary>Bytes it holds.</summary>
    public ulong Size { get; }

    /// <summary>Pages written so far (what the sparse store costs).</summary>
    public int PagesTouched => _pages.Count;

    /// <summary>Whether [<paramref name="offset"/>, +<paramref name="length"/>) lies inside.</summary>
    public bool Contains(ulong offset, ulong length) => offset <= Size && length <= Size - offset;

    /// <summary>Copies bytes out; unwritten bytes read as zero.</summary>
    /// <exception cref="ArgumentOutOfRangeException">a range outside the memory.</exception>
    public void Read(ulong offset, Span<byte> destination)
    {
        CheckRange(offset, destination.Length);
        var done = 0;
        while (done < destination.Length)
        {
            var at = offset + (ulong)done;
            var inPage = (int)(at & (PageSize - 1));
            var length = Math.Min(PageSize - inPage, destination.Length - done);
            var piece = destination.Slice(done, length);
            if (_pages.TryGetValue(at >> PageShift, out var page))
            {
                page.AsSpan(inPage, length).CopyTo(piece);
            }
            else
            {
                piece.Clear();
            }

            done += length;
        }
    }

    /// <summary>Copies bytes in.</summary>
    /// <exception cref="ArgumentOutOfRangeException">a range outside the memory.</exception>
    public void Write(ulong offset, ReadOnlySpan<byte> source)
    {
        CheckRange(offset, source.Length);
        var done = 0;
        while (done < source.Length)
        {
            var at = offset + (ulong)done;
            var inPage = (int)(at & (PageSize - 1));
            var length = Math.Min(PageSize - inPage, source.Length - done);
            if (!_pages.TryGetValue(at >> PageShift, out var page))
            {
                page = new byte[PageSize];
                _pages.Add(at >> PageShift, page);
            }

            source.Slice(done, length).CopyTo(page.AsSpan(inPage));
            done += length;
        }
    }

    private void CheckRange(ulong offset, int length)
    {
        if (!Contains(offset, (ulong)length))
        {
            throw new ArgumentOutOfRangeException(nameof(offset), offset, $"{length} bytes beyond device memory of {Size} bytes");
        }
    }
}
