using System.Buffers;

namespace PvIommu.Server.Sessions;

/// <summary>
/// A connection's reusable byte buffer: it grows to the largest frame seen (at most a frame of
/// 16 MiB and its header) and falls back to its small size once a frame above
/// <see cref="KeepSize"/> is done, so an idle connection holds at most <see cref="KeepSize"/>
/// bytes per buffer however large its last frame was.
/// </summary>
internal sealed class FrameBuffer : IDisposable
{
    /// <summary>Bytes a connection's buffer starts with and keeps when idle.</summary>
    public const int SmallSize = 16 * 1024;

    /// <summary>The largest array kept once the frame that needed it is done.</summary>
    public const int KeepSize = 256 * 1024;

    /// <summary>The largest array ever needed: a 16 MiB frame and its length field.</summary>
    public const int MaxSize = Wire.WireFormat.LengthSize + Wire.WireFormat.MaxFrameLength;

    private byte[] _array = ArrayPool<byte>.Shared.Rent(SmallSize);

    /// <summary>The buffer (its length is the capacity).</summary>
    public byte[] Array => _array;

    /// <summary>Makes the buffer hold at least <paramref name="size"/> bytes, keeping the first <paramref name="keep"/>.</summary>
    public void Ensure(int size, int keep = 0)
    {
        if (_array.Length >= size)
        {
            return;
        }

        ArgumentOutOfRangeException.ThrowIfGreaterThan(size, MaxSize);
        var grown = GC.AllocateUninitializedArray<byte>(Math.Max(size, Math.Min(_array.Length * 2, MaxSize)));
        _array.AsSpan(0, keep).CopyTo(grown);
        Return(_array);
        _array = grown;
    }

    /// <summary>Drops an array above <see cref="KeepSize"/> once the frame that needed it is done (<paramref name="keep"/> bytes are kept).</summary>
    public void Shrink(int keep = 0)
    {
        if (_array.Length > KeepSize && keep <= SmallSize)
        {
            var small = ArrayPool<byte>.Shared.Rent(SmallSize);
            _array.AsSpan(0, keep).CopyTo(small);
            _array = small;
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Return(_array);
        _array = [];
    }

    private static void Return(byte[] array)
    {
        if (array.Length == SmallSize)
        {
            ArrayPool<byte>.Shared.Return(array);
        }
    }
}
