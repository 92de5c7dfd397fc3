namespace PvIommu.Hypervisor.Iommu;

/// <summary>
/// The host's count of page-table entries written, kept as the tables write them: every context
/// table adds what each of its operations wrote, so the total is one read, however many domains
/// and contexts there are (the simulation's meter reads it around every driver call).
/// </summary>
internal sealed class PteTally
{
    private long _writes;

    /// <summary>Entries written so far, by every context live or gone (a destroyed context's teardown not counted).</summary>
    public long Writes => Volatile.Read(ref _writes);

    /// <summary>Adds what one table operation wrote (tables of several domains may be written at once).</summary>
    public void Add(long writes)
    {
        if (writes != 0)
        {
            Interlocked.Add(ref _writes, writes);
        }
    }
}
