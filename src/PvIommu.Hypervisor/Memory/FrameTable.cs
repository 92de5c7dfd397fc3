using System.Runtime.CompilerServices;
using PvIommu.Platform.Memory;

namespace PvIommu.Hypervisor.Memory;

/// <summary>
/// Xen's frame table (<c>struct page_info</c> per machine frame): who owns a frame, which gfn
/// it backs (the M2P), and its reference count.
/// </summary>
/// <remarks>
/// The count works as Xen's <c>count_info</c>: allocation to a domain holds one reference,
/// every IOMMU mapping of the frame holds one more, and the frame goes back to the host heap
/// when the count reaches zero, whoever drops the last one. So a frame ballooned out while a
/// device can still reach it stays allocated until the last mapping goes, and no device can
/// ever reach a frame that was freed and reused. Counts change with atomic operations: a frame
/// can be mapped by several domains (the hardware domain maps foreign frames).
/// Storage is sparse, in chunks of 512 frames, created when frames are first allocated.
/// </remarks>
public sealed class FrameTable
{
    /// <summary>The owner of a free frame.</summary>
    public const ushort NoOwner = 0xFFFF;

    private const int ChunkShift = 9;
    private readonly HostMemory _heap;
    private readonly Entry[]?[] _chunks;
    private long _freedByLastReference;

    /// <summary>A frame table for every frame of <paramref name="heap"/>'s machine.</summary>
    public FrameTable(HostMemory heap)
    {
        _heap = heap;
        _chunks = new Entry[]?[(heap.Memory.FrameCount >> ChunkShift) + 1];
    }

    /// <summary>Frames freed back to the heap by a last reference drop.</summary>
    public long FreedByLastReference => Volatile.Read(ref _freedByLastReference);

    /// <summary>Records that <paramref name="mfn"/> was allocated to <paramref name="owner"/> as its <paramref name="gfn"/> (one reference).</summary>
    public void Assign(Mfn mfn, ushort owner, ulong gfn)
    {
        ref var e = ref EntryOf(mfn, create: true);
        if (Volatile.Read(ref e.Count) != 0)
        {
            throw new InvalidOperationException($"{mfn} is already allocated");
        }

        e.Owner = owner;
        e.Gfn = gfn;
        Volatile.Write(ref e.Count, 1);
    }

    /// <summary>The frame's owner, or <see cref="NoOwner"/> when free or unknown.</summary>
    public ushort OwnerOf(Mfn mfn)
    {
        ref var e = ref EntryOf(mfn, create: false);
        return Unsafe.IsNullRef(ref e) || Volatile.Read(ref e.Count) == 0 ? NoOwner : e.Owner;
    }

    /// <summary>The gfn the frame backs in its owner (the M2P), if allocated.</summary>
    public bool TryGetGfn(Mfn mfn, out ulong gfn)
    {
        ref var e = ref EntryOf(mfn, create: false);
        var live = !Unsafe.IsNullRef(ref e) && Volatile.Read(ref e.Count) != 0;
        gfn = live ? e.Gfn : 0;
        return live;
    }

    /// <summary>The frame's reference count (0: free).</summary>
    public long CountOf(Mfn mfn)
    {
        ref var e = ref EntryOf(mfn, create: false);
        return Unsafe.IsNullRef(ref e) ? 0 : Volatile.Read(ref e.Count);
    }

    /// <summary>Takes a reference unless the frame is free (Xen's <c>get_page</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryGetRef(Mfn mfn)
    {
        ref var e = ref EntryOf(mfn, create: false);
        if (Unsafe.IsNullRef(ref e))
        {
            return false;
        }

        // A count at its ceiling refuses more, as Xen's get_page does on overflow.
        var count = Volatile.Read(ref e.Count);
        while (count > 0 && count < int.MaxValue)
        {
            var seen = Interlocked.CompareExchange(ref e.Count, count + 1, count);
            if (seen == count)
            {
                return true;
            }

            count = seen;
        }

        return false;
    }

    /// <summary>
    /// Takes one more reference on each of the <paramref name="count"/> frames from
    /// <paramref name="first"/>, which the caller knows are allocated and stay so meanwhile (their
    /// owner's p2m maps them and the owner's lock is held): no compare-exchange loop needed, and
    /// the frames' entries are found once per chunk, not once per frame.
    /// </summary>
    public void GetRefsHeld(Mfn first, ulong count)
    {
        var mfn = first.Value;
        while (count != 0)
        {
            // The frames up to the end of the first one's chunk lie side by side in the chunk.
            var n = (int)Math.Min(count, (ulong)((1 << ChunkShift) - (int)(mfn & ((1 << ChunkShift) - 1))));
            ref var e = ref EntryOf(new Mfn(mfn), create: false);
            if (Unsafe.IsNullRef(ref e))
            {
                RefHeldFailed(ref e, new Mfn(mfn), 0);
            }

            for (var k = 0; k < n; k++)
            {
                var after = Interlocked.Increment(ref Unsafe.Add(ref e, k).Count);
                if (after <= 1)
                {
                    // Both failures are bugs of the caller; the throw lives out of line so the
                    // hot path (map_pages takes the references of every run here) stays small.
                    RefHeldFailed(ref Unsafe.Add(ref e, k), new Mfn(mfn + (ulong)k), after);
                }
            }

            mfn += (ulong)n;
            count -= (ulong)n;
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void RefHeldFailed(ref Entry e, Mfn mfn, int count)
    {
        if (count == int.MinValue)
        {
            Interlocked.Decrement(ref e.Count);
            throw new InvalidOperationException($"{mfn}: reference count overflow");
        }

        throw new InvalidOperationException($"{mfn} is not allocated");
    }

    /// <summary>Drops a reference if the frame is allocated RAM; false (nothing done) for any other frame.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryPutRef(Mfn mfn)
    {
        ref var e = ref EntryOf(mfn, create: false);
        if (Unsafe.IsNullRef(ref e) || Volatile.Read(ref e.Count) <= 0)
        {
            return false;
        }

        if (Interlocked.Decrement(ref e.Count) == 0)
        {
            Release(ref e, mfn);
        }

        return true;
    }

    /// <summary>Drops a reference; the last one frees the frame to the heap (Xen's <c>put_page</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void PutRef(Mfn mfn)
    {
        ref var e = ref EntryOf(mfn, create: false);
        if (Unsafe.IsNullRef(ref e) || Volatile.Read(ref e.Count) <= 0)
        {
            throw new InvalidOperationException($"reference dropped on free {mfn}");
        }

        if (Interlocked.Decrement(ref e.Count) == 0)
        {
            Release(ref e, mfn);
        }
    }

    private void Release(ref Entry e, Mfn mfn)
    {
        e.Owner = NoOwner;
        _heap.Free(mfn, 1);
        Interlocked.Increment(ref _freedByLastReference);
    }

    /// <summary>Every allocated frame with its owner and count (leak checks).</summary>
    public IEnumerable<(Mfn Mfn, ushort Owner, long Count)> Allocated()
    {
        for (var c = 0; c < _chunks.Length; c++)
        {
            if (_chunks[c] is not { } chunk)
            {
                continue;
            }

            for (var i = 0; i < chunk.Length; i++)
            {
                if (chunk[i].Count != 0)
                {
                    yield return (new Mfn(((ulong)c << ChunkShift) + (ulong)i), chunk[i].Owner, chunk[i].Count);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref Entry EntryOf(Mfn mfn, bool create)
    {
        var c = mfn.Value >> ChunkShift;
        if (c >= (ulong)_chunks.Length)
        {
            return ref Unsafe.NullRef<Entry>();
        }

        var chunk = _chunks[c];
        if (chunk is null)
        {
            if (!create)
            {
                return ref Unsafe.NullRef<Entry>();
            }

            chunk = Interlocked.CompareExchange(ref _chunks[c], new Entry[1 << ChunkShift], null) ?? _chunks[c]!;
        }

        return ref chunk[mfn.Value & ((1 << ChunkShift) - 1)];
    }

    /// <summary>
    /// 16 bytes, so map_pages streams less of the table. An int count is ample: a domain's guest
    /// PTEs are bounded by its arena (at most 2^20 pages of 512 entries, 2^29) and a context 0
    /// maps each frame once, so only a frame the hardware domain maps in many domains' contexts
    /// could approach 2^31; the count then refuses (TryGetRef) or throws rather than wrap.
    /// </summary>
    private struct Entry
    {
        public int Count;
        public ushort Owner;
        public ulong Gfn;
    }
}
