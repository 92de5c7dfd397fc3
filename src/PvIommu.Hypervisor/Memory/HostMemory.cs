using PvIommu.Platform.Memory;

namespace PvIommu.Hypervisor.Memory;

/// <summary>
/// Xen's heap: the host's free machine frames, as sorted free extents. Domains' RAM, arenas
/// and Xen-managed page tables all come from here and go back here.
/// </summary>
/// <remarks>Thread-safe (one lock): allocations happen at init, balloon and teardown, never per page.</remarks>
public sealed class HostMemory
{
    private readonly SortedDictionary<ulong, ulong> _free = [];
    private readonly Lock _lock = new();
    private ulong _freeFrames;

    /// <summary>A heap over frames <paramref name="first"/>.. of <paramref name="memory"/>.</summary>
    public HostMemory(MachineMemory memory, Mfn first, ulong frames, FaultInjector? faults = null)
    {
        ArgumentNullException.ThrowIfNull(memory);
        if (frames == 0 || !memory.Contains(first + (frames - 1)))
        {
            throw new ArgumentOutOfRangeException(nameof(frames), "heap beyond host memory");
        }

        Memory = memory;
        Faults = faults ?? new FaultInjector();
        _free.Add(first.Value, frames);
        _freeFrames = frames;
        TotalFrames = frames;
    }

    /// <summary>The machine memory the frames belong to.</summary>
    public MachineMemory Memory { get; }

    /// <summary>Where tests make the n-th allocation fail.</summary>
    public FaultInjector Faults { get; }

    /// <summary>Frames the heap manages.</summary>
    public ulong TotalFrames { get; }

    /// <summary>Frames free now.</summary>
    public ulong FreeFrames
    {
        get
        {
            lock (_lock)
            {
                return _freeFrames;
            }
        }
    }

    /// <summary>
    /// Takes <paramref name="count"/> contiguous frames whose first frame is a multiple of
    /// <paramref name="align"/> (a power of two); false when no extent fits or a fault is injected.
    /// </summary>
    public bool TryAllocateContiguous(ulong count, ulong align, out Mfn first)
    {
        if (count == 0 || align == 0 || (align & (align - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(count), "count must be positive and align a power of two");
        }

        first = default;
        lock (_lock)
        {
            if (Faults.ShouldFail())
            {
                return false;
            }

            foreach (var (start, length) in _free)
            {
                var aligned = (start + align - 1) & ~(align - 1);
                if (aligned - start + count <= length)
                {
                    Take(start, length, aligned, count);
                    first = new Mfn(aligned);
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>
    /// Takes <paramref name="count"/> frames in as few extents as possible, 2 MiB-aligned where
    /// the heap allows (so superpages can map them); all or nothing.
    /// </summary>
    public bool TryAllocate(ulong count, out List<(Mfn First, ulong Count)> extents)
    {
        extents = [];
        if (count >= 512 && TryAllocateContiguous(count, 512, out var big))
        {
            extents.Add((big, count));
            return true;
        }

        lock (_lock)
        {
            if (Faults.ShouldFail() || _freeFrames < count)
            {
                return false;
            }

            var left = count;
            while (left > 0)
            {
                var (start, length) = _free.First();
                var n = Math.Min(left, length);
                Take(start, length, start, n);
                extents.Add((new Mfn(start), n));
                left -= n;
            }
        }

        return true;
    }

    /// <summary>Returns frames; each is scrubbed first, so no data leaks to the next owner.</summary>
    public void Free(Mfn first, ulong count)
    {
        for (ulong i = 0; i < count; i++)
        {
            Memory.Scrub(first + i);
        }

        lock (_lock)
        {
            var start = first.Value;
            var end = start + count;
            foreach (var (s, l) in _free)
            {
                if (s < end && start < s + l)
                {
                    throw new InvalidOperationException($"double free of frames [{start:x}, {end:x})");
                }
            }

            // Merge with the neighbours on both sides.
            var before = _free.LastOrDefault(e => e.Key + e.Value == start);
            if (before.Value != 0)
            {
                _free.Remove(before.Key);
                start = before.Key;
            }

            if (_free.Remove(end, out var afterLength))
            {
                end += afterLength;
            }

            _free.Add(start, end - start);
            _freeFrames += count;
        }
    }

    private void Take(ulong start, ulong length, ulong first, ulong count)
    {
        _free.Remove(start);
        if (first > start)
        {
            _free.Add(start, first - start);
        }

        var end = first + count;
        if (end < start + length)
        {
            _free.Add(end, start + length - end);
        }

        _freeFrames -= count;
    }
}
