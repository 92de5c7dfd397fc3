namespace PvIommu.Platform.Iommu;

/// <summary>The outcome of a DMA transfer: done, or the fault that stopped it (nothing was transferred).</summary>
/// <param name="Reason"><see cref="FaultReason.None"/> when the transfer happened.</param>
/// <param name="FaultAddress">The bus address that faulted (the first byte of the refused 4 KiB piece).</param>
public readonly record struct DmaResult(FaultReason Reason, ulong FaultAddress)
{
    /// <summary>A completed transfer.</summary>
    public static DmaResult Ok => default;

    /// <summary>Whether the transfer happened.</summary>
    public bool IsOk => Reason == FaultReason.None;

    /// <summary>A refused transfer.</summary>
    public static DmaResult Fault(FaultReason reason, ulong address) => new(reason, address);

    /// <inheritdoc/>
    public override string ToString() => IsOk ? "ok" : $"fault {Reason} at {FaultAddress:x}";
}
