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

    // Batches given back, for the next multicall (a map undone inside a map holds two at once).
    private readonly Stack<IommuOpBatch> _batches = new();

    public DriverStats Stats { get; } = stats;

    /// <summary>One iommu_op in its own trap; <paramref name="arg"/> comes back with its OUT fields.</summary>
    /// <returns>0 or a negative Xen errno.</returns>
    public int Call<T>(SubOp op, ref T arg)
        where T : struct, IAbiStruct<T>
    {
        Span<byte> bytes = stackalloc byte[MaxArgumentSize];
        bytes = bytes[..SubOps.ArgumentSize(op)];
        arg.Write(bytes);
        var ret = Trap(op, bytes);
        arg = T.Read(bytes);
        return ret;
    }

    /// <summary>
    /// An empty batch to fill with <see cref="Add{T}"/>, issue and read; give it back with
    /// <see cref="Return"/>. The hot batches (the deferred flush, a refill's maps) then reuse
    /// their buffers and allocate nothing per entry.
    /// </summary>
    public IommuOpBatch Rent() => _batches.TryPop(out var batch) ? batch : new IommuOpBatch();

    /// <summary>Takes back a batch from <see cref="Rent"/> whose results the caller has read.</summary>
    public void Return(IommuOpBatch batch)
    {
        batch.Clear();
        _batches.Push(batch);
    }

    /// <summary>Adds an entry for <paramref name="op"/> with <paramref name="arg"/> encoded; returns its index.</summary>
    public static int Add<T>(IommuOpBatch batch, SubOp op, in T arg)
        where T : struct, IAbiStruct<T>
    {
        arg.Write(batch.Append((uint)op, SubOps.ArgumentSize(op)));
        return batch.Count - 1;
    }

    /// <summary>
    /// The entries in one trap (spec §4.1): each gets its own result, and the invalidations they
    /// owe are merged and issued once before this returns. An empty batch issues nothing.
    /// </summary>
    public void Multicall(IommuOpBatch batch)
    {
        if (batch.Count == 0)
        {
            return;
        }

        var owed = new InvalidationTally();
        for (var i = 0; i < batch.Count; i++)
        {
            owed.Add((SubOp)batch.SubOpAt(i), batch.ArgumentAt(i));
        }

        channel.Multicall(batch);
        Stats.Traps++;
        Stats.Multicalls++;
        Stats.InvalidationsRequested += owed.Count;
        for (var i = 0; i < batch.Count; i++)
        {
            CountOp((SubOp)batch.SubOpAt(i), batch.ResultAt(i));
        }
    }

    /// <summary>Runs the batch's one entry alone, or its entries as a multicall when there are more.</summary>
    public void Issue(IommuOpBatch batch)
    {
        if (batch.Count == 1)
        {
            IssueAlone(batch, 0);
        }
        else
        {
            Multicall(batch);
        }
    }

    /// <summary>Runs entry <paramref name="index"/> of the batch in its own trap.</summary>
    public void IssueAlone(IommuOpBatch batch, int index) =>
        batch.SetResult(index, Trap((SubOp)batch.SubOpAt(index), batch.ArgumentAt(index)));

    /// <summary>One iommu_op in its own trap, counted, with the invalidation it owes.</summary>
    private int Trap(SubOp op, Span<byte> argument)
    {
        var owed = new InvalidationTally();
        owed.Add(op, argument);
        var ret = channel.IommuOp((uint)op, argument);
        Stats.Traps++;
        Stats.InvalidationsRequested += owed.Count;
        CountOp(op, ret);
        return ret;
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
