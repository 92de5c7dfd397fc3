using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace PvIommu.Abi.Structs;

/// <summary>The one length check every Read and Write makes, with its throw helper.</summary>
internal static class AbiSpan
{
    /// <summary>Throws when a span of <paramref name="length"/> bytes cannot hold a struct of <paramref name="size"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void EnsureLength(int length, int size, string paramName)
    {
        if (length < size)
        {
            ThrowTooShort(length, size, paramName);
        }
    }

    // A short span is a bug of the caller (the transport checks sizes against the sub-op), never
    // a guest error: an exception, kept out of line so that the callers stay small.
    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowTooShort(int length, int size, string paramName) =>
        throw new ArgumentException($"The span holds {length} bytes; the struct needs {size}.", paramName);
}
