using PvIommu.Platform.Pci;

namespace PvIommu.Platform.Iommu;

/// <summary>One record of a unit's fault log (VT-d fault recording §7.2, AMD event log §2.5).</summary>
/// <param name="Sequence">Order of detection among all faults of the unit, from 1; gaps are faults dropped while the log overflowed.</param>
/// <param name="Requester">The requester ID as the unit saw it (after aliasing).</param>
/// <param name="Address">The faulting bus address.</param>
/// <param name="Access">Read or write.</param>
/// <param name="Reason">Why it faulted.</param>
public readonly record struct FaultRecord(long Sequence, Sbdf Requester, ulong Address, DmaAccess Access, FaultReason Reason)
{
    /// <inheritdoc/>
    public override string ToString() => $"#{Sequence} {Requester} {Access} {Address:x}: {Reason}";
}
