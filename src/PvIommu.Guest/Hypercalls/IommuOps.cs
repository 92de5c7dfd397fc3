using PvIommu.Abi;
using PvIommu.Abi.Structs;

namespace PvIommu.Guest.Hypercalls;

/// <summary>
/// The driver's only door to the hypervisor: typed iommu_op calls and multicalls encoded as ABI
/// bytes over an <see cref="IHypercallChannel"/>, with every trap and operation counted.
/// </summary>
internal sealed class IommuOps(IHypercallChannel channel, DriverStats stats)
{
    // The largest argument struct any sub-op takes (map_pages).
    private const int MaxArgumentSize = MapPages.Size;

    // Most spare entries kept per sub-op (a deferred flush issues 257).
    private const int SparePerOp = 1024;

    // Spare map, unmap and flush entries, by sub-op number.
    private readonly Stack<IommuOpCall>?[] _spare = new Stack<IommuOpCall>?[(int)SubOp.LookupPage + 1];

    public DriverStats Stats { get; } = stats;

    /// <summary>One iommu_op in its own trap; <paramref name="arg"/> comes back with its OUT fields.</summary>
    /// <returns>0 or a negative Xen errno.</returns>
    public int Call<T>(SubOp op, ref T arg)
        where T : struct, IAbiStruct<T>
    {
        Span<byte> bytes = stackalloc byte[MaxArgumentSize];
        bytes = bytes[..SubOps.ArgumentSize(op)];
        arg.Write(bytes);
        var owed = new InvalidationTally();
        owed.Add(op, bytes);
        var ret = channel.IommuOp((uint)op, bytes);
        arg = T.Read(bytes);
        Stats.Traps++;
        Stats.InvalidationsRequested += owed.Count;
        CountOp(op, ret);
        return ret;
    }

    /// <summary>
    /// A multicall entry for <paramref name="op"/> with <paramref name="arg"/> encoded: one given
    /// back by <see cref="Recycle"/> when there is one (bytes and result cleared), else a new one.
    /// The hot batches (the deferred flush, a refill's maps) then allocate nothing per entry.
    /// </summary>
    public IommuOpCall Entry<T>(SubOp op, in T arg)
        where T : struct, IAbiStruct<T>
    {
        IommuOpCall call;
        if (SpareOf(op) is { } spare && spare.TryPop(out var reused))
        {
            call = reused;
            call.Result = 0;
            Array.Clear(call.Argument);
        }
        else
        {
            call = new IommuOpCall((uint)op, new byte[SubOps.ArgumentSize(op)]);
        }

        arg.Write(call.Argument);
        return call;
    }

    /// <summary>
    /// Takes back entries from <see cref="Entry{T}"/> whose result and bytes the caller has read
    /// and no longer holds. An entry not given back is simply collected.
    /// </summary>
    public void Recycle(IommuOpCall[] calls)
    {
        foreach (var call in calls)
        {
            if (SpareOf((SubOp)call.SubOp) is { } spare && spare.Count < SparePerOp && call.Argument.Length == SubOps.ArgumentSize((SubOp)call.SubOp))
            {
                spare.Push(call);
            }
        }
    }

    private Stack<IommuOpCall>? SpareOf(SubOp op) =>
        op is SubOp.MapPages or SubOp.UnmapPages or SubOp.FlushPages ? _spare[(int)op] ??= new Stack<IommuOpCall>() : null;

    /// <summary>
    /// The entries in one trap (spec §4.1): each gets its own result, and the invalidations they
    /// owe are merged and issued once before this returns. An empty batch issues nothing.
    /// </summary>
    /// <remarks>
    /// The batch is an array, not a list interface: every entry is read several times on the way
    /// (invalidations owed, the channel, the counts), and an array is read without a dispatch.
    /// </remarks>
    public void Multicall(IommuOpCall[] calls)
    {
        if (calls.Length == 0)
        {
            return;
        }

        var owed = new InvalidationTally();
        foreach (var call in calls)
        {
            owed.Add((SubOp)call.SubOp, call.Argument);
        }

        channel.Multicall(calls);
        Stats.Traps++;
        Stats.Multicalls++;
        Stats.InvalidationsRequested += owed.Count;
        foreach (var call in calls)
        {
            CountOp((SubOp)call.SubOp, call.Result);
        }
    }

    /// <summary>Runs <paramref name="calls"/> alone when there is one, as a multicall when there are more.</summary>
    public void Issue(IommuOpCall[] calls)
    {
        if (calls.Length != 1)
        {
            Multicall(calls);
            return;
        }

        var call = calls[0];
        var owed = new InvalidationTally();
        owed.Add((SubOp)call.SubOp, call.Argument);
        call.Result = channel.IommuOp(call.SubOp, call.Argument);
        Stats.Traps++;
        Stats.InvalidationsRequested += owed.Count;
        CountOp((SubOp)call.SubOp, call.Result);
    }

    private void CountOp(SubOp op, int ret)
    {
        Stats.IommuOps++;
        if (ret != 0)
        {
            Stats.FailedOps++;
        }

        switch (op)
        {
            case SubOp.MapPages:
                Stats.MapCalls++;
                break;
            case SubOp.UnmapPages:
                Stats.UnmapCalls++;
                break;
            case SubOp.FlushPages:
                Stats.FlushCalls++;
                break;
            case SubOp.LookupPage:
                Stats.LookupCalls++;
                break;
        }
    }
}
