using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace PvIommu.Platform.Memory;

/// <summary>
/// Copies of up to a frame's bytes, the body of every DMA: 32-byte vector moves, four at a time.
/// </summary>
/// <remarks>
/// A span copy longer than 2 KiB leaves managed code for the C library's memmove, which on the
/// AMD EPYC this project is measured on took up to 80 ns more per 4,000-byte frame than the loop
/// below (a receive ring's pages: 133–173 against 95–117 ns; docs/performance.md). Copies of 64
/// bytes and more (a driver reading a frame's 128 bytes of headers, a NIC writing back four
/// descriptors) take the loop too, inline, instead of a call to the span copy: about 2 % of the
/// replay. Shorter copies and machines without 256-bit vectors keep the span copy.
/// </remarks>
internal static class FrameCopy
{
    /// <summary>From this many bytes on the vector loop beats the span copy.</summary>
    private const int VectorThreshold = 64;

    /// <summary>Copies <paramref name="source"/> to the start of <paramref name="destination"/>, which is at least as long (overlap allowed, as memmove).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Copy(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        if (source.Length < VectorThreshold || !Vector256.IsHardwareAccelerated || source.Overlaps(destination))
        {
            source.CopyTo(destination);
            return;
        }

        if (source.Length > destination.Length)
        {
            ThrowTooShort();
        }

        CopyVectors(ref MemoryMarshal.GetReference(source), ref MemoryMarshal.GetReference(destination), (nuint)source.Length);
    }

    /// <summary><paramref name="length"/> ≥ 32 bytes; the last vector may overlap the one before it.</summary>
    private static void CopyVectors(ref byte source, ref byte destination, nuint length)
    {
        const int Width = 32;
        nuint offset = 0;
        for (; offset + (4 * Width) <= length; offset += 4 * Width)
        {
            var a = Vector256.LoadUnsafe(ref source, offset);
            var b = Vector256.LoadUnsafe(ref source, offset + Width);
            var c = Vector256.LoadUnsafe(ref source, offset + (2 * Width));
            var d = Vector256.LoadUnsafe(ref source, offset + (3 * Width));
            a.StoreUnsafe(ref destination, offset);
            b.StoreUnsafe(ref destination, offset + Width);
            c.StoreUnsafe(ref destination, offset + (2 * Width));
            d.StoreUnsafe(ref destination, offset + (3 * Width));
        }

        for (; offset + Width <= length; offset += Width)
        {
            Vector256.LoadUnsafe(ref source, offset).StoreUnsafe(ref destination, offset);
        }

        if (offset < length)
        {
            Vector256.LoadUnsafe(ref source, length - Width).StoreUnsafe(ref destination, length - Width);
        }
    }

    private static void ThrowTooShort() => throw new ArgumentException("destination is shorter than source", "destination");
}
