namespace PvIommu.Devices.Network;

/// <summary>What a NIC has done on the wire side, beside its DMA counters.</summary>
/// <param name="RxFrames">Frames received into host memory.</param>
/// <param name="RxBytes">Bytes of those frames.</param>
/// <param name="RxMissed">Frames dropped because the driver had posted no buffer (e1000 MPC).</param>
/// <param name="RxOversize">Frames dropped because they did not fit one buffer (e1000 ROC).</param>
/// <param name="RxDmaErrors">Frames lost to a refused DMA (descriptor read, data or write-back).</param>
/// <param name="TxFrames">Frames sent.</param>
/// <param name="TxBytes">Bytes of those frames.</param>
/// <param name="TxDmaErrors">Frames dropped (a fragment could not be read, or the frame grew past <see cref="Nic.MaxTxFrame"/>), plus refused descriptor fetches and write-backs.</param>
/// <param name="InvalidTailWrites">Tail writes outside the ring (ignored).</param>
public readonly record struct NicCounters(
    long RxFrames,
    long RxBytes,
    long RxMissed,
    long RxOversize,
    long RxDmaErrors,
    long TxFrames,
    long TxBytes,
    long TxDmaErrors,
    long InvalidTailWrites);
