using System.Numerics;

namespace PvIommu.Guest.Dma;

/// <summary>
/// A map from page frame numbers to values, kept in leaves of 512 consecutive pfns (a presence
/// bitmap and a value array each) found through a dictionary of leaves, with the last leaf used
/// remembered. Live IOVA blocks cluster in a few leaves, so a lookup, insert or removal reads a
/// cached leaf and one slot of it: one cache line, against a bucket and an entry of a
/// dictionary keyed by pfn, cold after a receive stream has passed through the caches.
/// </summary>
/// <typeparam name="TValue">What each pfn maps to.</typeparam>
internal sealed class PfnMap<TValue>
    where TValue : struct
{
    private const int LeafBits = 9;
    private const ulong SlotMask = (1UL << LeafBits) - 1;

    private readonly Dictionary<ulong, Leaf> _leaves = [];
    private Leaf? _last;
    private ulong _lastIndex;

    /// <summary>Pfns mapped.</summary>
    public int Count { get; private set; }

    /// <summary>Whether <paramref name="pfn"/> is mapped.</summary>
    public bool ContainsKey(ulong pfn) => TryGetValue(pfn, out _);

    /// <summary>The value of <paramref name="pfn"/>, if it is mapped.</summary>
    public bool TryGetValue(ulong pfn, out TValue value)
    {
        var leaf = Find(pfn >> LeafBits);
        var slot = (int)(pfn & SlotMask);
        if (leaf is null || !leaf.Has(slot))
        {
            value = default;
            return false;
        }

        value = leaf.Values[slot];
        return true;
    }

    /// <summary>Maps <paramref name="pfn"/> to <paramref name="value"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="pfn"/> is mapped already.</exception>
    public void Add(ulong pfn, TValue value)
    {
        var index = pfn >> LeafBits;
        var leaf = Find(index);
        if (leaf is null)
        {
            leaf = new Leaf();
            _leaves.Add(index, leaf);
            (_last, _lastIndex) = (leaf, index);
        }

        var slot = (int)(pfn & SlotMask);
        if (leaf.Has(slot))
        {
            throw new ArgumentException($"pfn {pfn:x} is mapped already", nameof(pfn));
        }

        leaf.Present[slot >> 6] |= 1UL << slot;
        leaf.Values[slot] = value;
        leaf.Count++;
        Count++;
    }

    /// <summary>Unmaps <paramref name="pfn"/>; a leaf left empty is dropped.</summary>
    /// <returns>False when it was not mapped.</returns>
    public bool Remove(ulong pfn, out TValue value)
    {
        var index = pfn >> LeafBits;
        var leaf = Find(index);
        var slot = (int)(pfn & SlotMask);
        if (leaf is null || !leaf.Has(slot))
        {
            value = default;
            return false;
        }

        value = leaf.Values[slot];
        leaf.Present[slot >> 6] &= ~(1UL << slot);
        Count--;
        if (--leaf.Count == 0)
        {
            _leaves.Remove(index);
            _last = null;
        }

        return true;
    }

    /// <summary>Every mapped pfn and its value, lowest pfn first.</summary>
    public IEnumerable<KeyValuePair<ulong, TValue>> Entries()
    {
        foreach (var index in _leaves.Keys.Order())
        {
            var leaf = _leaves[index];
            for (var word = 0; word < leaf.Present.Length; word++)
            {
                for (var bits = leaf.Present[word]; bits != 0; bits &= bits - 1)
                {
                    var slot = (word << 6) + BitOperations.TrailingZeroCount(bits);
                    yield return new((index << LeafBits) | (uint)slot, leaf.Values[slot]);
                }
            }
        }
    }

    private Leaf? Find(ulong index)
    {
        if (_last is not null && _lastIndex == index)
        {
            return _last;
        }

        if (!_leaves.TryGetValue(index, out var leaf))
        {
            return null;
        }

        (_last, _lastIndex) = (leaf, index);
        return leaf;
    }

    private sealed class Leaf
    {
        public ulong[] Present { get; } = new ulong[(1 << LeafBits) / 64];

        public TValue[] Values { get; } = new TValue[1 << LeafBits];

        public int Count { get; set; }

        public bool Has(int slot) => (Present[slot >> 6] & (1UL << slot)) != 0;
    }
}
