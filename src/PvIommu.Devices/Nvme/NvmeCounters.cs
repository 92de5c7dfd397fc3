namespace PvIommu.Devices.Nvme;

/// <summary>What an NVMe controller has done, beside its DMA counters.</summary>
/// <param name="Commands">Commands fetched and completed.</param>
/// <param name="Reads">Read commands.</param>
/// <param name="Writes">Write commands.</param>
/// <param name="Flushes">Flush commands.</param>
/// <param name="Errors">Completions with a status other than success.</param>
/// <param name="DataBytesToHost">Bytes read commands delivered to host memory.</param>
/// <param name="DataBytesFromHost">Bytes write commands took from host memory into the namespace.</param>
/// <param name="PrpListFetches">PRP list pages (or parts of them) read.</param>
/// <param name="LostCompletions">Completion entries whose write the IOMMU refused (the driver never sees them).</param>
/// <param name="CommandFetchFaults">Refused submission-entry fetches (each makes the controller fatal).</param>
/// <param name="InvalidDoorbellWrites">Doorbell writes naming no queue or an index outside it (ignored).</param>
public readonly record struct NvmeCounters(
    long Commands,
    long Reads,
    long Writes,
    long Flushes,
    long Errors,
    long DataBytesToHost,
    long DataBytesFromHost,
    long PrpListFetches,
    long LostCompletions,
    long CommandFetchFaults,
    long InvalidDoorbellWrites);

/// <summary>One I/O queue pair's registers as the controller holds them.</summary>
/// <param name="Id">Queue id (SQID = CQID).</param>
/// <param name="SqEntries">Submission queue size.</param>
/// <param name="SqHead">The next entry the controller fetches.</param>
/// <param name="SqTail">The last submission doorbell value.</param>
/// <param name="CqEntries">Completion queue size.</param>
/// <param name="CqHead">The last completion doorbell value.</param>
/// <param name="CqTail">The next entry the controller writes.</param>
/// <param name="Phase">The phase tag the controller writes now.</param>
public readonly record struct NvmeQueueState(
    ushort Id, int SqEntries, int SqHead, int SqTail, int CqEntries, int CqHead, int CqTail, bool Phase);
