namespace PvIommu.Guest.Dma;

/// <summary>
/// Disjoint half-open intervals [start, end) of frame numbers in a treap ordered by start, each
/// node also holding the longest interval of its subtree. That augmentation answers "the
/// highest place a block of n fits below a limit" in O(log n) for the common case and rejects
/// an impossible request at the root: the failing searches that cost Linux's rbtree its IOPS
/// (research/perf-anchors §1.3) stay cheap.
/// </summary>
/// <remarks>
/// Priorities are a hash of the start, so the shape depends on the contents only: runs are
/// deterministic without a random source. Callers keep intervals disjoint.
/// </remarks>
internal sealed class IntervalTreap
{
    private Node? _root;

    /// <summary>Intervals held.</summary>
    public int Count { get; private set; }

    /// <summary>Frames covered by all intervals.</summary>
    public ulong TotalLength { get; private set; }

    /// <summary>The longest interval's length (0 when empty).</summary>
    public ulong MaxLength => _root?.MaxLength ?? 0;

    /// <summary>Adds [<paramref name="start"/>, <paramref name="end"/>); it must not overlap another.</summary>
    public void Insert(ulong start, ulong end)
    {
        _root = Insert(_root, new Node(start, end));
        Count++;
        TotalLength += end - start;
    }

    /// <summary>Removes the interval that starts at <paramref name="start"/>.</summary>
    public bool Remove(ulong start)
    {
        Node? removed = null;
        _root = Remove(_root, start, ref removed);
        if (removed is null)
        {
            return false;
        }

        Count--;
        TotalLength -= removed.End - removed.Start;
        return true;
    }

    /// <summary>The interval with the greatest start ≤ <paramref name="key"/>.</summary>
    public bool TryFloor(ulong key, out ulong start, out ulong end)
    {
        Node? best = null;
        for (var t = _root; t is not null;)
        {
            if (t.Start <= key)
            {
                best = t;
                t = t.Right;
            }
            else
            {
                t = t.Left;
            }
        }

        return Found(best, out start, out end);
    }

    /// <summary>The interval with the least start ≥ <paramref name="key"/>.</summary>
    public bool TryCeiling(ulong key, out ulong start, out ulong end)
    {
        Node? best = null;
        for (var t = _root; t is not null;)
        {
            if (t.Start >= key)
            {
                best = t;
                t = t.Left;
            }
            else
            {
                t = t.Right;
            }
        }

        return Found(best, out start, out end);
    }

    /// <summary>
    /// The highest <paramref name="address"/>, a multiple of <paramref name="alignment"/> (a
    /// power of two), such that [address, address + size) lies inside one interval and ends at
    /// or below <paramref name="limit"/>.
    /// </summary>
    public bool TryFindTopDown(ulong size, ulong alignment, ulong limit, out ulong address) =>
        FindTopDown(_root, size, ~(alignment - 1), limit, out address);

    /// <summary>Every interval, lowest first.</summary>
    public List<(ulong Start, ulong End)> ToList()
    {
        var list = new List<(ulong, ulong)>(Count);
        var stack = new Stack<Node>();
        for (var t = _root; t is not null || stack.Count > 0;)
        {
            while (t is not null)
            {
                stack.Push(t);
                t = t.Left;
            }

            t = stack.Pop();
            list.Add((t.Start, t.End));
            t = t.Right;
        }

        return list;
    }

    private static bool Found(Node? node, out ulong start, out ulong end)
    {
        (start, end) = node is null ? (0UL, 0UL) : (node.Start, node.End);
        return node is not null;
    }


    private static bool FindTopDown(Node? t, ulong size, ulong alignMask, ulong limit, out ulong address)
    {
        address = 0;
        if (t is null || t.MaxLength < size)
        {
            return false;
        }

        if (t.Start < limit)
        {
            // Everything to the right starts higher: look there first for the highest fit.
            if (FindTopDown(t.Right, size, alignMask, limit, out address))
            {
                return true;
            }

            var end = Math.Min(t.End, limit);
            if (end - t.Start >= size)
            {
                var candidate = (end - size) & alignMask;
                if (candidate >= t.Start)
                {
                    address = candidate;
                    return true;
                }
            }
        }

        return FindTopDown(t.Left, size, alignMask, limit, out address);
    }

    private static Node Insert(Node? t, Node n)
    {
        if (t is null)
        {
            return n;
        }

        if (n.Priority > t.Priority)
        {
            Split(t, n.Start, out var left, out var right);
            n.Left = left;
            n.Right = right;
            n.Update();
            return n;
        }

        if (n.Start < t.Start)
        {
            t.Left = Insert(t.Left, n);
        }
        else
        {
            t.Right = Insert(t.Right, n);
        }

        t.Update();
        return t;
    }

    /// <summary>Splits into starts &lt; key and starts ≥ key.</summary>
    private static void Split(Node? t, ulong key, out Node? left, out Node? right)
    {
        if (t is null)
        {
            left = right = null;
            return;
        }

        if (t.Start < key)
        {
            Split(t.Right, key, out var l, out right);
            t.Right = l;
            left = t;
        }
        else
        {
            Split(t.Left, key, out left, out var r);
            t.Left = r;
            right = t;
        }

        t.Update();
    }

    private static Node? Remove(Node? t, ulong start, ref Node? removed)
    {
        if (t is null)
        {
            return null;
        }

        if (start == t.Start)
        {
            removed = t;
            return Merge(t.Left, t.Right);
        }

        if (start < t.Start)
        {
            t.Left = Remove(t.Left, start, ref removed);
        }
        else
        {
            t.Right = Remove(t.Right, start, ref removed);
        }

        t.Update();
        return t;
    }

    /// <summary>Joins two treaps where every start of <paramref name="a"/> is below every start of <paramref name="b"/>.</summary>
    private static Node? Merge(Node? a, Node? b)
    {
        if (a is null)
        {
            return b;
        }

        if (b is null)
        {
            return a;
        }

        if (a.Priority > b.Priority)
        {
            a.Right = Merge(a.Right, b);
            a.Update();
            return a;
        }

        b.Left = Merge(a, b.Left);
        b.Update();
        return b;
    }

    private sealed class Node(ulong start, ulong end)
    {
        public ulong Start { get; } = start;

        public ulong End { get; } = end;

        public ulong Priority { get; } = Mix(start);

        public Node? Left { get; set; }

        public Node? Right { get; set; }

        public ulong MaxLength { get; private set; } = end - start;

        public void Update() =>
            MaxLength = Math.Max(End - Start, Math.Max(Left?.MaxLength ?? 0, Right?.MaxLength ?? 0));

        // SplitMix64's finaliser: a fixed, well-spread priority per start.
        private static ulong Mix(ulong x)
        {
            x += 0x9E3779B97F4A7C15;
            x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9;
            x = (x ^ (x >> 27)) * 0x94D049BB133111EB;
            return x ^ (x >> 31);
        }
    }
}
