using System.Runtime.InteropServices;
using PvIommu.Platform.Memory;

namespace PvIommu.Platform.Tests.Memory;

/// <summary>Line-aligned DMA buffers: aligned, of the size asked, zeroed, and refused for a negative size.</summary>
public sealed class CacheLineBufferTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(4000)]
    [InlineData(65536)]
    public void Allocate_StartsOnALineWithTheSizeAskedAndZeroes(int bytes)
    {
        for (var i = 0; i < 8; i++)
        {
            var buffer = CacheLineBuffer.Allocate(bytes);

            Assert.Equal(bytes, buffer.Count);
            Assert.Equal(0, Marshal.UnsafeAddrOfPinnedArrayElement(buffer.Array!, buffer.Offset) % CacheLineBuffer.Line);
            Assert.True(buffer.AsSpan().IndexOfAnyExcept((byte)0) < 0);
        }
    }

    [Fact]
    public void Allocate_NegativeSize_IsRefused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => CacheLineBuffer.Allocate(-1));
}
