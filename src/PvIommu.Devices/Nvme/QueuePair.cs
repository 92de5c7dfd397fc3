namespace PvIommu.Devices.Nvme;

/// <summary>
/// A submission queue and its completion queue, as the controller's registers see them. The
/// controller owns SQ entries from head up to, not including, the doorbell tail; the driver
/// owns CQ entries from its doorbell head up to, not including, the controller's tail, so a
/// CQ is full when tail + 1 == head.
/// </summary>
internal sealed class QueuePair(ushort id, ulong sqBase, int sqEntries, ulong cqBase, int cqEntries)
{
    public ushort Id { get; } = id;

    public int SqHead { get; private set; }

    public int SqTail { get; set; }

    public int CqHead { get; set; }

    public int CqTail { get; private set; }

    /// <summary>P: 1 on the first pass through the CQ, inverted at each wrap.</summary>
    public bool Phase { get; private set; } = true;

    public int SqEntries => sqEntries;

    public int CqEntries => cqEntries;

    public bool HasCommand => SqHead != SqTail;

    public bool CqFull => (CqTail + 1) % cqEntries == CqHead;

    public ulong SqSlot => sqBase + ((ulong)SqHead * SubmissionEntry.Size);

    public ulong CqSlot => cqBase + ((ulong)CqTail * CompletionEntry.Size);

    public NvmeQueueState State => new(Id, sqEntries, SqHead, SqTail, cqEntries, CqHead, CqTail, Phase);

    public void AdvanceSqHead() => SqHead = RingIndex.Next(SqHead, sqEntries);

    public void AdvanceCqTail()
    {
        CqTail++;
        if (CqTail == cqEntries)
        {
            CqTail = 0;
            Phase = !Phase;
        }
    }
}
