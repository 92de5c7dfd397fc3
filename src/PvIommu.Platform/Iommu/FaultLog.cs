using PvIommu.Platform.Pci;

namespace PvIommu.Platform.Iommu;

/// <summary>
/// A unit's fault log: a fixed number of records, as VT-d's fault recording registers (§7.2
/// primary fault logging) or AMD-Vi's event log (§2.5) hold. When it is full, the next fault
/// sets <see cref="Overflow"/> (VT-d PFO) and from then on faults are counted but not recorded
/// until software clears the flag, even if it has drained records meanwhile.
/// </summary>
/// <remarks>Not thread-safe: the unit's owner serialises access.</remarks>
public sealed class FaultLog
{
    private readonly FaultRecord[] _records;
    private int _head;
    private int _count;
    private long _sequence;

    /// <summary>An empty log holding at most <paramref name="capacity"/> records.</summary>
    public FaultLog(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _records = new FaultRecord[capacity];
    }

    /// <summary>Most records held at once.</summary>
    public int Capacity => _records.Length;

    /// <summary>Records held now.</summary>
    public int Count => _count;

    /// <summary>A fault came while the log was full (or while this was already set): records are being dropped.</summary>
    public bool Overflow { get; private set; }

    /// <summary>Faults detected since creation, recorded or not.</summary>
    public long Detected => _sequence;

    /// <summary>Faults recorded since creation.</summary>
    public long Recorded { get; private set; }

    /// <summary>Faults dropped because of overflow.</summary>
    public long Dropped { get; private set; }

    /// <summary>Records a fault, or drops it when the log is full or overflowed.</summary>
    /// <returns>Whether it was recorded.</returns>
    public bool Record(Sbdf requester, ulong address, DmaAccess access, FaultReason reason)
    {
        _sequence++;
        if (Overflow || _count == _records.Length)
        {
            Overflow = true;
            Dropped++;
            return false;
        }

        _records[(_head + _count) % _records.Length] = new FaultRecord(_sequence, requester, address, access, reason);
        _count++;
        Recorded++;
        return true;
    }

    /// <summary>The records held, oldest first; the log is unchanged.</summary>
    public FaultRecord[] Snapshot()
    {
        var copy = new FaultRecord[_count];
        for (var i = 0; i < _count; i++)
        {
            copy[i] = _records[(_head + i) % _records.Length];
        }

        return copy;
    }

    /// <summary>Takes every record out, oldest first (software reading and clearing the records); <see cref="Overflow"/> stays.</summary>
    public FaultRecord[] Drain()
    {
        var taken = Snapshot();
        _head = 0;
        _count = 0;
        Array.Clear(_records);
        return taken;
    }

    /// <summary>Clears <see cref="Overflow"/> so that new faults are recorded again (where there is room).</summary>
    public void ClearOverflow() => Overflow = false;
}
