namespace PvIommu.Abi;

/// <summary>
/// The entries of one multicall packed back to back, as a guest lays out its multicall array:
/// one buffer of argument bytes, and a sub-op, an offset and a result per entry. A batch is
/// reused from call to call, so a batch of any size allocates nothing per entry once it has
/// grown to it.
/// </summary>
/// <remarks>
/// <code>
///  entry:     0              1              2
///  bytes:   [ map_pages 32 ][ map_pages 32 ][ flush_pages 24 ] …
///  offsets:   0              32             64                88 (end)
/// </code>
/// Not thread-safe: one batch is filled, issued and read by one caller at a time.
/// </remarks>
public sealed class IommuOpBatch
{
    private uint[] _subOps;
    private int[] _offsets;
    private int[] _results;
    private byte[] _bytes;

    /// <summary>An empty batch with room for <paramref name="entries"/> entries of up to 32 bytes before it grows.</summary>
    public IommuOpBatch(int entries = 16)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(entries, 1);
        _subOps = new uint[entries];
        _offsets = new int[entries + 1];
        _results = new int[entries];
        _bytes = new byte[entries * 32];
    }

    /// <summary>Entries added since the last <see cref="Clear"/>.</summary>
    public int Count { get; private set; }

    /// <summary>Adds an entry of <paramref name="size"/> zeroed argument bytes and returns them to be written.</summary>
    /// <exception cref="ArgumentOutOfRangeException">a negative size.</exception>
    public Span<byte> Append(uint subOp, int size)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        var index = Count;
        var start = _offsets[index];
        Reserve(index + 1, start + size);
        _subOps[index] = subOp;
        _results[index] = 0;
        _offsets[index + 1] = start + size;
        Count = index + 1;
        var argument = _bytes.AsSpan(start, size);
        argument.Clear();
        return argument;
    }

    /// <summary>Adds an entry with a copy of <paramref name="argument"/>.</summary>
    public void Add(uint subOp, ReadOnlySpan<byte> argument) => argument.CopyTo(Append(subOp, argument.Length));

    /// <summary>Entry <paramref name="index"/>'s sub-op.</summary>
    public uint SubOpAt(int index) => _subOps[Check(index)];

    /// <summary>Entry <paramref name="index"/>'s argument bytes, written back by the call.</summary>
    public Span<byte> ArgumentAt(int index)
    {
        var start = _offsets[Check(index)];
        return _bytes.AsSpan(start, _offsets[index + 1] - start);
    }

    /// <summary>Entry <paramref name="index"/>'s result: 0 or a negative Xen errno once the multicall returned.</summary>
    public int ResultAt(int index) => _results[Check(index)];

    /// <summary>Sets entry <paramref name="index"/>'s result (what the hypervisor side does).</summary>
    public void SetResult(int index, int result) => _results[Check(index)] = result;

    /// <summary>Empties the batch; its buffers stay for the next one.</summary>
    public void Clear() => Count = 0;

    private int Check(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
        return index;
    }

    private void Reserve(int entries, int bytes)
    {
        if (entries > _subOps.Length)
        {
            var grown = Math.Max(entries, _subOps.Length * 2);
            Array.Resize(ref _subOps, grown);
            Array.Resize(ref _results, grown);
            Array.Resize(ref _offsets, grown + 1);
        }

        if (bytes > _bytes.Length)
        {
            Array.Resize(ref _bytes, Math.Max(bytes, _bytes.Length * 2));
        }
    }
}
