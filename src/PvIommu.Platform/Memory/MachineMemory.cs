using System.Numerics;
using System.Runtime.CompilerServices;

namespace PvIommu.Platform.Memory;

/// <summary>
/// Host memory as 4 KiB frames, stored sparsely: a 256 GiB host costs what its workload
/// touches, not what it has.
/// </summary>
/// <remarks>
/// <code>
///  mfn:  [ chunk (mfn &gt;&gt; 9) ][ frame in chunk (9 bits) ]
///  _chunks[chunk] ─► 2 MiB of native memory, reserved on first touch
/// </code>
/// A chunk is reserved with <c>calloc</c>, which for 2 MiB maps fresh zero pages that the
/// operating system backs only when written, so an untouched frame costs nothing even inside
/// a live chunk (or, when asked, with a 2 MiB huge page backed whole on its first write).
/// Frames of a chunk are contiguous, as real memory is, so page-table pages taken from a
/// contiguous arena sit side by side; a page-table pool may have all the chunks of its arena
/// backed as one block (<see cref="TryBackContiguous"/>). The simulated machine is
/// little-endian (as x86 is): device DMA sees the same bytes the words hold. Reaching a backed
/// chunk takes no lock and backing one takes a short one, so vCPUs and devices may race on it.
/// The memory is freed when the object is collected; every holder of a frame pointer holds
/// this object too, so no pointer outlives it.
/// </remarks>
public sealed unsafe class MachineMemory
{
    private const int ChunkShift = 9;
    private const int ChunkFrames = 1 << ChunkShift;
    private const long ChunkBytes = (long)ChunkFrames * Frame.Size;
    private readonly nint[] _chunks;
    private readonly nint[] _allocations;
    private readonly long[] _allocationBytes;
    private readonly ulong[]?[] _touched;
    private long _touchedFrames;
    private int _liveChunks;

    /// <summary>Creates a host memory of <paramref name="frames"/> 4 KiB frames, all zero.</summary>
    /// <param name="frames">Frames the host has.</param>
    /// <param name="hugePages">Back chunks with 2 MiB transparent huge pages where the operating system
    /// allows: fewer TLB misses for DMA and walks over many frames, at 2 MiB of resident memory per
    /// written chunk (see <see cref="NativeBlock"/>).</param>
    public MachineMemory(ulong frames, bool hugePages = false)
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("the simulated machine is little-endian, as x86 is");
        }

        ArgumentOutOfRangeException.ThrowIfZero(frames);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(frames, 1UL << 40);
        FrameCount = frames;
        HugePages = hugePages;
        var chunks = (frames + ChunkFrames - 1) >> ChunkShift;
        _chunks = new nint[chunks];
        _allocations = new nint[chunks];
        _allocationBytes = new long[chunks];
        _touched = new ulong[]?[chunks];
    }

    /// <summary>Frees the native chunks.</summary>
    ~MachineMemory()
    {
        for (var i = 0; i < _allocations.Length; i++)
        {
            if (_allocations[i] != 0)
            {
                NativeBlock.Free(_allocations[i], _allocationBytes[i], HugePages);
            }
        }

        if (_liveChunks > 0)
        {
            GC.RemoveMemoryPressure(_liveChunks * ChunkBytes);
        }
    }

    /// <summary>Whether chunks are asked to be backed by huge pages.</summary>
    public bool HugePages { get; }

    /// <summary>Number of frames the host has.</summary>
    public ulong FrameCount { get; }

    /// <summary>Frames that have been written (or handed out as tables) and not scrubbed since.</summary>
    public long TouchedFrames => Volatile.Read(ref _touchedFrames);

    /// <summary>Bytes the touched frames amount to.</summary>
    public long TouchedBytes => TouchedFrames * Frame.Size;

    /// <summary>Whether <paramref name="mfn"/> is a frame of this host.</summary>
    public bool Contains(Mfn mfn) => mfn.Value < FrameCount;

    /// <summary>
    /// The 512 words of a frame for writing; the frame counts as touched from now on. Page-table
    /// code keeps the pointer for as long as the frame is a table.
    /// </summary>
    public Span<ulong> Words(Mfn mfn) => new(WordsPointer(mfn), Frame.Words);

    /// <summary>The frame's words as a pointer, marking it touched (engine use).</summary>
    internal ulong* WordsPointer(Mfn mfn)
    {
        CheckFrame(mfn);
        var chunk = mfn.Value >> ChunkShift;
        var slot = (int)(mfn.Value & (ChunkFrames - 1));
        var bits = _touched[chunk] ?? Materialise(chunk);
        ref var word = ref bits[slot >> 6];
        var bit = 1UL << (slot & 63);
        if ((Volatile.Read(ref word) & bit) == 0 && (Interlocked.Or(ref word, bit) & bit) == 0)
        {
            Interlocked.Increment(ref _touchedFrames);
        }

        return (ulong*)_chunks[chunk] + ((long)slot * Frame.Words);
    }

    /// <summary>Reads the 64-bit word at <paramref name="index"/> (0–511) of a frame; untouched memory reads as zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong ReadWord(Mfn mfn, int index)
    {
        if (mfn.Value >= FrameCount || (uint)index >= Frame.Words)
        {
            ThrowOutside(mfn);
        }

        var chunk = Volatile.Read(ref _chunks[mfn.Value >> ChunkShift]);
        return chunk == 0 ? 0 : ((ulong*)chunk)[((long)(mfn.Value & (ChunkFrames - 1)) * Frame.Words) + index];
    }

    /// <summary>Copies bytes out of one frame; untouched frames read as zero.</summary>
    public void Read(Mfn mfn, int offset, Span<byte> destination)
    {
        CheckRange(mfn, offset, destination.Length);
        var chunk = Volatile.Read(ref _chunks[mfn.Value >> ChunkShift]);
        if (chunk == 0)
        {
            destination.Clear();
            return;
        }

        var frame = (byte*)chunk + ((long)(mfn.Value & (ChunkFrames - 1)) * Frame.Size);
        FrameCopy.Copy(new ReadOnlySpan<byte>(frame + offset, destination.Length), destination);
    }

    /// <summary>Copies bytes into one frame, which counts as touched from now on.</summary>
    public void Write(Mfn mfn, int offset, ReadOnlySpan<byte> source)
    {
        CheckRange(mfn, offset, source.Length);
        FrameCopy.Copy(source, new Span<byte>((byte*)WordsPointer(mfn) + offset, source.Length));
    }

    /// <summary>Zeroes a frame and stops counting it as touched (what Xen's scrub of a freed page leaves).</summary>
    public void Scrub(Mfn mfn)
    {
        CheckFrame(mfn);
        var chunk = mfn.Value >> ChunkShift;
        var slot = (int)(mfn.Value & (ChunkFrames - 1));
        if (_touched[chunk] is not { } bits)
        {
            return;
        }

        new Span<ulong>((ulong*)_chunks[chunk] + ((long)slot * Frame.Words), Frame.Words).Clear();
        var bit = 1UL << (slot & 63);
        if ((Interlocked.And(ref bits[slot >> 6], ~bit) & bit) != 0)
        {
            Interlocked.Decrement(ref _touchedFrames);
        }
    }

    /// <summary>Frames touched in the chunk holding <paramref name="mfn"/> (for tests of sparseness).</summary>
    internal int TouchedInChunk(Mfn mfn) =>
        _touched[mfn.Value >> ChunkShift] is { } bits ? bits.Sum(BitOperations.PopCount) : 0;

    /// <summary>
    /// Backs every chunk that holds a frame of <paramref name="first"/> .. first +
    /// <paramref name="frames"/> − 1 with one native block, so those frames lie at consecutive
    /// host addresses, and returns the host address of <paramref name="first"/>; null when one of
    /// those chunks is already backed (its frames cannot move). Like a chunk, the block costs only
    /// the pages that are written.
    /// </summary>
    /// <remarks>A page-table pool asks for this: a walk then finds a table from its entry with an
    /// add, where scattered chunks need a load of the table's pointer (a dependent load per level).</remarks>
    internal byte* TryBackContiguous(Mfn first, long frames)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(frames, 1);
        CheckFrame(first);
        CheckFrame(first + (ulong)(frames - 1));
        var low = first.Value >> ChunkShift;
        var high = (first.Value + (ulong)frames - 1) >> ChunkShift;
        lock (_touched)
        {
            for (var chunk = low; chunk <= high; chunk++)
            {
                if (_touched[chunk] is not null)
                {
                    return null;
                }
            }

            return (byte*)Back(low, high) + ((long)(first.Value & (ChunkFrames - 1)) * Frame.Size);
        }
    }

    private ulong[] Materialise(ulong chunk)
    {
        lock (_touched)
        {
            if (_touched[chunk] is null)
            {
                Back(chunk, chunk);
            }

            return _touched[chunk]!;
        }
    }

    /// <summary>
    /// Backs chunks <paramref name="low"/> .. <paramref name="high"/>, none backed yet, with one
    /// block (under the lock); returns the block's start. Each chunk's pointer is written before
    /// its touched bits, which readers test first.
    /// </summary>
    private nint Back(ulong low, ulong high)
    {
        // Every frame starts on a 4 KiB boundary, as a frame does, so a table never straddles
        // two pages (twice the TLB misses on a random walk).
        var bytes = (long)(high - low + 1) * ChunkBytes;
        _allocations[low] = NativeBlock.Allocate(bytes, HugePages, out var block);
        _allocationBytes[low] = bytes;
        for (var chunk = low; chunk <= high; chunk++)
        {
            _chunks[chunk] = block + (nint)((long)(chunk - low) * ChunkBytes);
            _liveChunks++;
            GC.AddMemoryPressure(ChunkBytes);
            Volatile.Write(ref _touched[chunk], new ulong[ChunkFrames / 64]);
        }

        return block;
    }

    private void CheckFrame(Mfn mfn)
    {
        if (mfn.Value >= FrameCount)
        {
            ThrowOutside(mfn);
        }
    }

    private void CheckRange(Mfn mfn, int offset, int length)
    {
        CheckFrame(mfn);
        if ((uint)offset > Frame.Size || (uint)length > (uint)(Frame.Size - offset))
        {
            throw new ArgumentOutOfRangeException(nameof(length), $"{length} bytes at offset {offset} cross the frame");
        }
    }

    private static void ThrowOutside(Mfn mfn) =>
        throw new ArgumentOutOfRangeException(nameof(mfn), mfn, "beyond host memory");
}
