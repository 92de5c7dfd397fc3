using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
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
/// <remarks>
/// Keys, frames and rights are three arrays, so a set's keys lie side by side and a lookup
/// compares four ways with one vector instruction: one branch per four ways instead of one per
/// way, and none mispredicted by where in its set an entry happens to sit.
/// </remarks>
internal sealed class IotlbArray
{
    internal const ulong ValidBit = 1UL << 63;
    internal const int MaxDfnBits = 45;
    private const int TagShift = 16;

    /// <summary>Ways compared by one vector instruction.</summary>
    private const int Lanes = 4;

    /// <summary>
    /// Each entry's key (0 when empty), then <see cref="Lanes"/> − 1 spare empty keys, so the
    /// last set's vector reads stay inside the array. A read past the end of a set meets another
    /// set's keys, never its own key: a key's set is a function of the key.
    /// </summary>
    private readonly ulong[] _keys;
    private readonly ulong[] _frames;
    private readonly PteAccess[] _access;
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
        _keys = new ulong[(sets * ways) + Lanes - 1];
        _frames = new ulong[sets * ways];
        _access = new PteAccess[sets * ways];
        _next = new byte[sets];
    }

    /// <summary>The leaf level this array caches.</summary>
    internal int Level { get; }

    internal int Capacity => _frames.Length;

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
        var first = (int)(SetOf(tag, domainId) * (uint)_ways);

        // The set index is masked, the ways fixed at construction and the key array padded, so
        // every read below lies inside the arrays: no bounds checks on the simulator's hottest loop.
        ref var keys = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_keys), first);
        var wanted = Vector256.Create(key);
        for (var w = 0; w < _ways; w += Lanes)
        {
            var equal = Vector256.Equals(Vector256.LoadUnsafe(ref keys, (nuint)w), wanted);
            if (equal != Vector256<ulong>.Zero)
            {
                var i = first + w + BitOperations.TrailingZeroCount(equal.ExtractMostSignificantBits());
                hit = new IotlbHit(
                    new Mfn(Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_frames), i) + (dfn & _offsetMask)),
                    Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_access), i),
                    Level);
                return true;
            }
        }

        hit = default;
        return false;
    }

    /// <summary>Caches a leaf; returns whether a valid entry of another translation was evicted.</summary>
    internal bool Fill(ushort domainId, ulong dfn, ulong mfn, PteAccess access)
    {
        var tag = dfn >> _shift;
        var key = ValidBit | (tag << TagShift) | domainId;
        var set = SetOf(tag, domainId);
        var first = (int)(set * (uint)_ways);
        var slot = -1;
        for (var i = first; i < first + _ways; i++)
        {
            if (_keys[i] == key)
            {
                slot = i;
                break;
            }

            if (slot < 0 && _keys[i] == 0)
            {
                slot = i;
            }
        }

        var evicted = slot < 0;
        if (evicted)
        {
            // Round-robin victim per set: deterministic, and no bookkeeping on the hit path.
            slot = first + _next[set];
            _next[set] = (byte)((_next[set] + 1) % _ways);
        }
        else if (_keys[slot] == 0)
        {
            _valid++;
        }

        _keys[slot] = key;
        _frames[slot] = mfn - (dfn & _offsetMask);
        _access[slot] = access;
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
                if (_keys[i] == key)
                {
                    _keys[i] = 0;
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
        Array.Clear(_keys);
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
        var keys = _keys;
        for (var i = 0; i < keys.Length; i++)
        {
            var key = keys[i];
            if (key != 0 && (ushort)key == domainId && TagOf(key) - firstTag <= lastTag - firstTag)
            {
                keys[i] = 0;
                dropped++;
            }
        }

        _valid -= dropped;
        return dropped;
    }
}
