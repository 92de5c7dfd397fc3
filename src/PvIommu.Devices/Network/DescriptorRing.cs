namespace PvIommu.Devices.Network;

/// <summary>
/// One descriptor ring as the NIC's registers describe it (base, length, head, tail). The
/// device owns the descriptors from head up to, not including, tail; head == tail means it
/// owns none. The driver may therefore post at most count − 1 descriptors.
/// </summary>
/// <remarks>
/// <code>
///   0        head              tail           count−1
///  [ driver ][ device owns .... ][ driver ..... ]
///   reaped ◄─ device advances head   driver advances tail (doorbell) ─►
/// </code>
/// </remarks>
internal sealed class DescriptorRing(int descriptorSize)
{
    public bool Enabled { get; private set; }

    public ulong Base { get; private set; }

    public int Count { get; private set; }

    public int Head { get; private set; }

    public int Tail { get; private set; }

    /// <summary>Whether the device owns no descriptor.</summary>
    public bool IsEmpty => Head == Tail;

    /// <summary>Descriptors the device owns: head up to, not including, tail.</summary>
    public int Posted => Tail >= Head ? Tail - Head : Tail + Count - Head;

    public void Configure(ulong ringBase, int count)
    {
        Base = ringBase;
        Count = count;
        Head = 0;
        Tail = 0;
        Enabled = true;
    }

    public void Disable()
    {
        Enabled = false;
        Head = 0;
        Tail = 0;
    }

    /// <summary>A tail write; false (and ignored) when it points outside the ring.</summary>
    public bool TryWriteTail(int tail)
    {
        if (!Enabled || (uint)tail >= (uint)Count)
        {
            return false;
        }

        Tail = tail;
        return true;
    }

    /// <summary>Bus address of descriptor <paramref name="index"/>.</summary>
    public ulong Address(int index) => Base + ((ulong)index * (ulong)descriptorSize);

    public void AdvanceHead() => Head = RingIndex.Next(Head, Count);
}
