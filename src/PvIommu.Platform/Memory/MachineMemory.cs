using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace PvIommu.Platform.Memory;

/// <summary>
/// Host memory as 4 KiB frames, stored sparsely: a frame costs memory only once it is written
/// (or handed out as a page table), so a 256 GiB host costs what its workload touches.
/// </summary>
/// <remarks>
/// Storage is a two-level directory, <c>chunk = mfn &gt;&gt; 9</c>, <c>slot = mfn &amp; 511</c>;
/// each present frame is a <c>ulong[512]</c> so page-table code reads whole entries and device
/// DMA sees the same bytes (the host is little-endian, as x86 is). Untouched frames read as
/// zero. Creation is lock-free (compare-exchange), so vCPUs and devices may race on it.
/// </remarks>
public sealed class MachineMemory
{
    private const int ChunkShift = 9;
    private const int ChunkFrames = 1 << ChunkShift;
    private readonly ulong[]?[]?[] _chunks;
    private long _touched;

    /// <summary>Creates a host memory of <paramref name="frames"/> 4 KiB frames, all zero.</summary>
    public MachineMemory(ulong frames)
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("the simulated machine is little-endian, as x86 is");
        }

        ArgumentOutOfRangeException.ThrowIfZero(frames);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(frames, 1UL << 40);
        FrameCount = frames;
        _chunks = new ulong[]?[]?[(frames + ChunkFrames - 1) >> ChunkShift];
    }

    /// <summary>Number of frames the host has.</summary>
    public ulong FrameCount { get; }

    /// <summary>Frames that currently hold storage (written, or used as tables).</summary>
    public long TouchedFrames => Interlocked.Read(ref _touched);

    /// <summary>Bytes of simulator storage the touched frames cost.</summary>
    public long TouchedBytes => TouchedFrames * Frame.Size;

    /// <summary>Whether <paramref name="mfn"/> is a frame of this host.</summary>
    public bool Contains(Mfn mfn) => mfn.Value < FrameCount;

    /// <summary>
    /// The 512 words of a frame, created (zeroed) on first use. Page-table code keeps this
    /// array for as long as the frame is a table.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong[] Words(Mfn mfn)
    {
        var chunk = _chunks[mfn.Value >> ChunkShift];
        var frame = chunk?[mfn.Value & (ChunkFrames - 1)];
        return frame ?? Materialise(mfn);
    }

    /// <summary>The words of a frame if it holds storage, else <see langword="null"/> (reads as zero).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong[]? PeekWords(Mfn mfn)
    {
        if (mfn.Value >= FrameCount)
        {
            return null;
        }

        return _chunks[mfn.Value >> ChunkShift]?[mfn.Value & (ChunkFrames - 1)];
    }

    /// <summary>Reads the 64-bit word at <paramref name="index"/> (0–511) of a frame.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong ReadWord(Mfn mfn, int index) => PeekWords(mfn) is { } w ? w[index] : 0;

    /// <summary>Copies bytes out of one frame; untouched frames read as zero.</summary>
    public void Read(Mfn mfn, int offset, Span<byte> destination)
    {
        CheckRange(mfn, offset, destination.Length);
        if (PeekWords(mfn) is { } words)
        {
            MemoryMarshal.AsBytes(words.AsSpan()).Slice(offset, destination.Length).CopyTo(destination);
        }
        else
        {
            destination.Clear();
        }
    }

    /// <summary>Copies bytes into one frame, creating its storage.</summary>
    public void Write(Mfn mfn, int offset, ReadOnlySpan<byte> source)
    {
        CheckRange(mfn, offset, source.Length);
        source.CopyTo(MemoryMarshal.AsBytes(Words(mfn).AsSpan()).Slice(offset));
    }

    /// <summary>Zeroes a frame and drops its storage (what Xen's scrubbing of a freed page leaves).</summary>
    public void Scrub(Mfn mfn)
    {
        if (!Contains(mfn))
        {
            throw new ArgumentOutOfRangeException(nameof(mfn), mfn, "beyond host memory");
        }

        var chunk = _chunks[mfn.Value >> ChunkShift];
        if (chunk is not null && Interlocked.Exchange(ref chunk[mfn.Value & (ChunkFrames - 1)], null) is not null)
        {
            Interlocked.Decrement(ref _touched);
        }
    }

    private ulong[] Materialise(Mfn mfn)
    {
        if (!Contains(mfn))
        {
            throw new ArgumentOutOfRangeException(nameof(mfn), mfn, "beyond host memory");
        }

        ref var chunkRef = ref _chunks[mfn.Value >> ChunkShift];
        var chunk = chunkRef ?? Interlocked.CompareExchange(ref chunkRef, new ulong[]?[ChunkFrames], null) ?? chunkRef!;
        ref var slot = ref chunk[mfn.Value & (ChunkFrames - 1)];
        var fresh = new ulong[Frame.Words];
        var existing = Interlocked.CompareExchange(ref slot, fresh, null);
        if (existing is not null)
        {
            return existing;
        }

        Interlocked.Increment(ref _touched);
        return fresh;
    }

    private void CheckRange(Mfn mfn, int offset, int length)
    {
        if (!Contains(mfn))
        {
            throw new ArgumentOutOfRangeException(nameof(mfn), mfn, "beyond host memory");
        }

        if ((uint)offset > Frame.Size || (uint)length > (uint)(Frame.Size - offset))
        {
            throw new ArgumentOutOfRangeException(nameof(length), "access crosses the frame");
        }
    }
}
