using System.Buffers.Binary;
using PvIommu.Abi;
using PvIommu.Abi.Structs;

namespace PvIommu.Guest.Tests.Support;

/// <summary>
/// A channel in front of the real one that records every iommu_op as it went in (multicall
/// entries included, with the trap they shared) and can hide capability bits, as a hypervisor
/// without them would.
/// </summary>
internal sealed class RecordingChannel(IHypercallChannel inner) : IHypercallChannel
{
    public List<(int Trap, SubOp Op, byte[] Argument)> Calls { get; } = [];

    public int Traps { get; private set; }

    /// <summary>Capability bits cleared in every query_capabilities answer.</summary>
    public CapFlags Hidden { get; set; }

    public int IommuOp(uint subOp, Span<byte> argument)
    {
        Calls.Add((++Traps, (SubOp)subOp, argument.ToArray()));
        var ret = inner.IommuOp(subOp, argument);
        if ((SubOp)subOp == SubOp.QueryCapabilities && ret == 0)
        {
            var flags = BinaryPrimitives.ReadUInt32LittleEndian(argument[Capabilities.CapFlagsOffset..]);
            BinaryPrimitives.WriteUInt32LittleEndian(argument[Capabilities.CapFlagsOffset..], flags & ~(uint)Hidden);
        }

        return ret;
    }

    public void Multicall(IReadOnlyList<IommuOpCall> calls)
    {
        Traps++;
        foreach (var call in calls)
        {
            Calls.Add((Traps, (SubOp)call.SubOp, [.. call.Argument]));
        }

        inner.Multicall(calls);
    }

    public IEnumerable<MapPages> Maps => Calls.Where(c => c.Op == SubOp.MapPages).Select(c => MapPages.Read(c.Argument));

    public int Count(SubOp op) => Calls.Count(c => c.Op == op);

    public void Clear()
    {
        Calls.Clear();
        Traps = 0;
    }
}
