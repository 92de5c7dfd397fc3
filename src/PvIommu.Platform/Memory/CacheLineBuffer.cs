using System.Runtime.InteropServices;

namespace PvIommu.Platform.Memory;

/// <summary>
/// Zeroed byte buffers that start on a 64-byte cache line and stay there (pinned arrays): the
/// staging and wire buffers DMA copies read and write, as a device's or driver's DMA buffers are
/// line-aligned. A byte array's data starts anywhere 8-byte aligned; from 16 bytes into a line,
/// half the 32-byte loads of a copy into a page-aligned frame straddle two lines, about 15 ns
/// per 4,000-byte frame (docs/performance.md, eighth session).
/// </summary>
public static class CacheLineBuffer
{
    /// <summary>The line size buffers are aligned to.</summary>
    public const int Line = 64;

    /// <summary>A zeroed buffer of <paramref name="bytes"/> bytes whose first byte starts a cache line.</summary>
    /// <exception cref="ArgumentOutOfRangeException">a negative size.</exception>
    public static ArraySegment<byte> Allocate(int bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        var raw = GC.AllocateArray<byte>(bytes + Line, pinned: true);
        var skew = (int)(Line - (Marshal.UnsafeAddrOfPinnedArrayElement(raw, 0) & (Line - 1))) & (Line - 1);
        return new ArraySegment<byte>(raw, skew, bytes);
    }
}
