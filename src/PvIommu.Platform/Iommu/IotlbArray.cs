using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using PvIommu.Platform.Memory;
using PvIommu.Platform.PageTables;

namespace PvIommu.Platform.Iommu;

/// <summary>
/// One set-associative array of the IOTLB, holding leaves of a single size. Each entry's key
/// packs everything a lookup compares into one word, so a hit is one compare per way:
/// <code>
///  63    62 .. 61   60 ...................... 16  15 ........ 0
/// [V ][    0     ][ dfn &gt;&gt; (9 × (level − 1))   ][ domain-id  ]
/// </code>
/// The tag fits: a 57-bit bus address has a 45-bit dfn.
/// </summary>
internal sealed class IotlbArray
{
    internal const ulong ValidBit = 1UL << 63;
    internal const int MaxDfnBits = 45;
    private const int TagShift = 16;

    private readonly Entry[] _entries;
    private readonly byte[] _next;
    private readonly int _ways;
    private readonly uint _setMask;
    private readonly int _shift;
    private readonly ulong _offsetMask;

    /// <summary>Valid entries: an empty array (no superpage mapped, say) answers a lookup without reading a set.</summary>
    private int _valid;

    /// <param name="level">The level whose entries are cached: the tag is dfn &gt;&gt; 9 × (level − 1).</param>
    /// <param name="sets">Sets (a power of two).</param>
    /// <param name="ways">Ways.</param>
    /// <param name="leaves">Leaves (a hit adds the dfn's offset inside the leaf to its frame), or
    /// table pointers (a hit is the frame as cached).</param>
    internal IotlbArray(int level, int sets, int ways, bool leaves = true)
    {
        Level = level;
        _ways = ways;
        _setMask = (uint)sets - 1;
        _shift = PageLevel.Bits * (level - 1);
        _offsetMask = leaves ? PageLevel.Frames(level) - 1 : 0;
        _entries = new Entry[sets * ways];
        _next = new byte[sets];
    }

    /// <summary>The leaf level this array caches.</summary>
    internal int Level { get; }

    internal int Capacity => _entries.Length;

    /// <summary>Looks <paramref name="dfn"/> up for <paramref name="domainId"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool TryFind(ushort domainId, ulong dfn, out IotlbHit hit)
    {
        if (_valid == 0)
        {
            hit = default;
            return false;
        }

        var tag = dfn >> _shift;
        var key = ValidBit | (tag << TagShift) | domainId;

        ref var way = ref FirstWay((int)(SetOf(tag, domainId) * (uint)_ways));
        for (var w = 0; w < _ways; w++, way = ref Unsafe.Add(ref way, 1))
        {
            if (way.Key == key)
            {
                hit = new IotlbHit(new Mfn(way.Mfn + (dfn & _offsetMask)), way.Access, Level);
                return true;
            }
        }

        hit = default;
        return false;
    }

    /// <summary>
    /// The first way of the set starting at entry <paramref name="first"/>. The set index is
    /// masked and the ways fixed at construction, so every way of the set lies inside the array:
    /// lookups and fills, the hottest loops of the simulator, read them without bounds checks.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref Entry FirstWay(int first) => ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_entries), first);

    /// <summary>Caches a leaf; returns whether a valid entry of another translation was evicted.</summary>
    internal bool Fill(ushort domainId, ulong dfn, ulong mfn, PteAccess access)
    {
        var tag = dfn >> _shift;
        var key = ValidBit | (tag << TagShift) | domainId;
        var set = SetOf(tag, domainId);
        var first = (int)(set * (uint)_ways);
        var slot = -1;
        ref var way = ref FirstWay(first);
        for (var w = 0; w < _ways; w++, way = ref Unsafe.Add(ref way, 1))
        {
            if (way.Key == key)
            {
                slot = first + w;
                break;
            }

            if (slot < 0 && way.Key == 0)
            {
                slot = first + w;
            }
        }

        var evicted = slot < 0;
        if (evicted)
        {
            // Round-robin victim per set: deterministic, and no bookkeeping on the hit path (a
            // compare, not a division by the run-time way count: every miss of a stream evicts).
            var victim = _next[set];
            slot = first + victim;
            _next[set] = (byte)(victim + 1 == _ways ? 0 : victim + 1);
        }
        else if (_entries[slot].Key == 0)
        {
            _valid++;
        }

        _entries[slot] = new Entry(key, mfn - (dfn & _offsetMask), access);
        return evicted;
    }

    /// <summary>Drops the domain's entries overlapping dfns <paramref name="firstDfn"/>..<paramref name="lastDfn"/>; returns how many.</summary>
    internal int InvalidateRange(ushort domainId, ulong firstDfn, ulong lastDfn)
    {
        if (_valid == 0)
        {
            return 0;
        }

        var firstTag = firstDfn >> _shift;
        var lastTag = lastDfn >> _shift;
        if (lastTag - firstTag >= _setMask + 1UL)
        {
            // More tags than sets: one pass over the whole array is cheaper than a probe per tag.
            return Drop(domainId, firstTag, lastTag);
        }

        var dropped = 0;
        for (var tag = firstTag; tag <= lastTag; tag++)
        {
            var key = ValidBit | (tag << TagShift) | domainId;
            var first = (int)(SetOf(tag, domainId) * (uint)_ways);
            for (var i = first; i < first + _ways; i++)
            {
                if (_entries[i].Key == key)
                {
                    _entries[i] = default;
                    dropped++;
                }
            }
        }

        _valid -= dropped;
        return dropped;
    }

    /// <summary>Drops every entry of <paramref name="domainId"/>.</summary>
    internal int InvalidateDomain(ushort domainId) => Drop(domainId, 0, ulong.MaxValue);

    /// <summary>Drops every entry.</summary>
    internal int InvalidateAll()
    {
        var dropped = _valid;
        Array.Clear(_entries);
        _valid = 0;
        return dropped;
    }

    /// <summary>Valid entries held.</summary>
    internal int CountValid() => _valid;

    private static ulong TagOf(ulong key) => (key & ~ValidBit) >> TagShift;

    /// <summary>The set of a tag: tags of one domain that follow each other land in sets that follow each other.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private uint SetOf(ulong tag, ushort domainId) => ((uint)tag ^ (domainId * 0x9E37u)) & _setMask;

    /// <summary>One pass over the array: drops <paramref name="domainId"/>'s valid entries with a tag in [first, last].</summary>
    private int Drop(ushort domainId, ulong firstTag, ulong lastTag)
    {
        var dropped = 0;
        var entries = _entries;
        for (var i = 0; i < entries.Length; i++)
        {
            var key = entries[i].Key;
            if (key != 0 && (ushort)key == domainId && TagOf(key) - firstTag <= lastTag - firstTag)
            {
                entries[i] = default;
                dropped++;
            }
        }

        _valid -= dropped;
        return dropped;
    }

    /// <summary>One cached leaf: its key, the leaf's first frame, its rights.</summary>
    private readonly record struct Entry(ulong Key, ulong Mfn, PteAccess Access);
}
