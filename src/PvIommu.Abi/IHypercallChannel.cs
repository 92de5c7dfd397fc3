namespace PvIommu.Abi;

/// <summary>
/// The only way a guest driver reaches the hypervisor: ABI bytes in, errno and bytes out. The
/// same driver runs over an in-process channel or over the <c>pviommu serve</c> socket.
/// </summary>
public interface IHypercallChannel
{
    /// <summary>
    /// <c>HYPERVISOR_iommu_op(subop, arg)</c>: the hypervisor reads the argument struct from
    /// <paramref name="argument"/> and writes it back (OUT fields, progress) in place, also on
    /// failure. For remote_cmd, <paramref name="argument"/> holds the 16-byte remote_cmd struct
    /// followed by the inner struct (its <c>arg</c> field is ignored), as on the wire.
    /// </summary>
    /// <returns>0, or a negative Xen errno (<see cref="XenErrno"/>).</returns>
    int IommuOp(uint subOp, Span<byte> argument);

    /// <summary>
    /// <c>HYPERVISOR_multicall</c> of iommu_op entries (spec §4.1): one trap; entries run in
    /// order, each with its own result, and the IOTLB invalidations they owe are merged and issued
    /// once before this returns.
    /// </summary>
    void Multicall(IReadOnlyList<IommuOpCall> calls);

    /// <summary>
    /// The same multicall with its entries packed in <paramref name="batch"/> (no object per
    /// entry): each entry's result and written-back bytes land in the batch. The default copies
    /// the entries into <see cref="IommuOpCall"/>s for <see cref="Multicall(IReadOnlyList{IommuOpCall})"/>
    /// and back; a channel that can read the batch in place overrides it.
    /// </summary>
    void Multicall(IommuOpBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var calls = new IommuOpCall[batch.Count];
        for (var i = 0; i < calls.Length; i++)
        {
            calls[i] = new IommuOpCall(batch.SubOpAt(i), batch.ArgumentAt(i).ToArray());
        }

        Multicall(calls);
        for (var i = 0; i < calls.Length; i++)
        {
            calls[i].Argument.CopyTo(batch.ArgumentAt(i));
            batch.SetResult(i, calls[i].Result);
        }
    }
}

/// <summary>One iommu_op entry of a multicall: sub-op, argument bytes (updated in place) and result.</summary>
/// <param name="subOp">The sub-op number.</param>
/// <param name="argument">The argument struct's bytes.</param>
public sealed class IommuOpCall(uint subOp, byte[] argument)
{
    /// <summary>The sub-op number.</summary>
    public uint SubOp { get; } = subOp;

    /// <summary>The argument struct's bytes, written back by the call.</summary>
    public byte[] Argument { get; } = argument;

    /// <summary>0 or a negative Xen errno, set when the multicall returns.</summary>
    public int Result { get; set; }
}
