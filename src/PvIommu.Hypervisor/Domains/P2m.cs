using System.Runtime.CompilerServices;
using PvIommu.Platform.Memory;

namespace PvIommu.Hypervisor.Domains;

/// <summary>What a p2m entry maps (Xen's p2m types, the ones PV-IOMMU cares about).</summary>
public enum P2mType : byte
{
    /// <summary>No entry: the gfn is not backed.</summary>
    Invalid = 0,

    /// <summary>Ordinary RAM of the domain, read/write.</summary>
    Ram = 1,

    /// <summary>RAM the domain may only read (<c>p2m_ram_ro</c>).</summary>
    RamReadOnly = 2,

    /// <summary>Device memory the domain may access; mapped without a page reference.</summary>
    Mmio = 3,

    /// <summary>A frame of another domain (a grant or foreign mapping).</summary>
    Foreign = 4,
}

/// <summary>One p2m entry: the machine frame and the type.</summary>
/// <param name="Mfn">The machine frame.</param>
/// <param name="Type">What the entry maps.</param>
public readonly record struct P2mEntry(Mfn Mfn, P2mType Type)
{
    /// <summary>Whether the gfn is backed.</summary>
    public bool IsValid => Type != P2mType.Invalid;
}

/// <summary>
/// A domain's physical-to-machine map: gfn → (mfn, type). For a PV domain gfn = mfn.
/// </summary>
/// <remarks>
/// Entries are packed words <c>[type 63:56][mfn 51:0]</c> in chunks of 512 gfns created on
/// first use, so a lookup is two array reads (the hypercall path does one per frame).
/// Writers hold the domain's lock; readers may run beside them (word writes are atomic).
/// </remarks>
public sealed class P2m
{
    private const int ChunkShift = 9;
    private const int TypeShift = 56;
    private const ulong MfnMask = (1UL << 52) - 1;
    private ulong[]?[] _chunks = new ulong[]?[16];
    private long _ramFrames;

    /// <summary>RAM frames (read/write or read-only) currently in the map.</summary>
    public long RamFrames => Volatile.Read(ref _ramFrames);

    /// <summary>The entry for <paramref name="gfn"/> (invalid when not backed).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public P2mEntry Lookup(ulong gfn)
    {
        var chunks = Volatile.Read(ref _chunks);
        var c = gfn >> ChunkShift;
        if (c >= (ulong)chunks.Length || chunks[c] is not { } chunk)
        {
            return default;
        }

        var word = Volatile.Read(ref chunk[gfn & ((1 << ChunkShift) - 1)]);
        return new P2mEntry(new Mfn(word & MfnMask), (P2mType)(word >> TypeShift));
    }

    /// <summary>Sets or replaces the entry of <paramref name="gfn"/>.</summary>
    public void Set(ulong gfn, P2mEntry entry)
    {
        var old = Lookup(gfn);
        ref var slot = ref Slot(gfn);
        Volatile.Write(ref slot, entry.IsValid ? ((ulong)entry.Type << TypeShift) | (entry.Mfn.Value & MfnMask) : 0);
        _ramFrames += (IsRam(entry.Type) ? 1 : 0) - (IsRam(old.Type) ? 1 : 0);
    }

    /// <summary>Removes the entry of <paramref name="gfn"/>, returning what it was.</summary>
    public P2mEntry Remove(ulong gfn)
    {
        var old = Lookup(gfn);
        if (old.IsValid)
        {
            Set(gfn, default);
        }

        return old;
    }

    /// <summary>Every valid entry in gfn order.</summary>
    public IEnumerable<(ulong Gfn, P2mEntry Entry)> Entries()
    {
        var chunks = Volatile.Read(ref _chunks);
        for (var c = 0; c < chunks.Length; c++)
        {
            if (chunks[c] is not { } chunk)
            {
                continue;
            }

            for (var i = 0; i < chunk.Length; i++)
            {
                var word = chunk[i];
                if (word != 0)
                {
                    yield return (((ulong)c << ChunkShift) + (ulong)i, new P2mEntry(new Mfn(word & MfnMask), (P2mType)(word >> TypeShift)));
                }
            }
        }
    }

    /// <summary>Whether a type is RAM of the domain (holds the allocation reference).</summary>
    public static bool IsRam(P2mType type) => type is P2mType.Ram or P2mType.RamReadOnly;

    private ref ulong Slot(ulong gfn)
    {
        var c = gfn >> ChunkShift;
        if (c >= (ulong)_chunks.Length)
        {
            var grown = new ulong[]?[Math.Max((long)c + 1, _chunks.Length * 2)];
            _chunks.CopyTo(grown, 0);
            Volatile.Write(ref _chunks, grown);
        }

        return ref (_chunks[c] ??= new ulong[1 << ChunkShift])[gfn & ((1 << ChunkShift) - 1)];
    }
}
