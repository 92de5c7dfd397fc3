using PvIommu.Devices.Nvme;
using PvIommu.Devices.Tests.Support;

namespace PvIommu.Devices.Tests.Nvme;

/// <summary>
/// An NVMe controller with queues and data pages mapped by hand, for tests that write
/// submission entries themselves.
/// </summary>
/// <remarks>
/// <code>
///  IOVA dfn 0x100 → SQ (frame SpareFirst),  dfn 0x101 → CQ (SpareFirst + 1)
///  IOVA dfn 0x180.. → PRP list pages (SpareFirst + 0x80..)
///  IOVA dfn 0x1000.. → data pages (SpareFirst + 0x1000..), 0x1000 of them
/// </code>
/// </remarks>
internal sealed class NvmeBench
{
    public const ulong SqIova = 0x100_000;
    public const ulong CqIova = 0x101_000;
    public const ulong ListIova = 0x180_000;
    public const ulong DataIova = 0x1000_000;
    public const ulong SqFrame = Bed.SpareFirst;
    public const ulong CqFrame = Bed.SpareFirst + 1;
    public const ulong ListFrame = Bed.SpareFirst + 0x80;
    public const ulong DataFrame = Bed.SpareFirst + 0x1000;
    private int _sqTail;
    private int _cqHead;
    private bool _phase = true;

    public NvmeBench(NvmeOptions? options = null, int sqEntries = 16, int cqEntries = 16)
    {
        Domain = Bed.Attach(Bed.Nvme);
        Domain.Map(0x100, SqFrame, 2);
        Domain.Map(0x180, ListFrame, 4);
        Domain.Map(DataIova >> 12, DataFrame, 0x1000);
        Controller = new NvmeController(Bed.Machine, Bed.Nvme, options);
        Controller.CreateQueuePair(1, SqIova, sqEntries, CqIova, cqEntries);
        SqEntries = sqEntries;
        CqEntries = cqEntries;
    }

    public Bed Bed { get; } = new();

    public DeviceDomain Domain { get; }

    public NvmeController Controller { get; }

    public int SqEntries { get; }

    public int CqEntries { get; }

    /// <summary>The bus address of data page <paramref name="i"/>.</summary>
    public static ulong Data(int i) => DataIova + ((ulong)i << 12);

    /// <summary>The machine address of data page <paramref name="i"/>.</summary>
    public static ulong DataMachine(int i) => (DataFrame + (ulong)i) << 12;

    /// <summary>Writes an entry at the SQ tail and rings the doorbell.</summary>
    public void Submit(SubmissionEntry entry)
    {
        var bytes = new byte[SubmissionEntry.Size];
        entry.Write(bytes);
        Bed.Poke((SqFrame << 12) + (ulong)(_sqTail * SubmissionEntry.Size), bytes);
        _sqTail = (_sqTail + 1) % SqEntries;
        Assert.True(Controller.RingSubmissionDoorbell(1, _sqTail));
    }

    /// <summary>Takes the entry at the CQ head if its phase is current, and rings the doorbell.</summary>
    public CompletionEntry? Reap()
    {
        var entry = CompletionEntry.Read(Bed.Peek((CqFrame << 12) + (ulong)(_cqHead * CompletionEntry.Size), CompletionEntry.Size));
        if (entry.Phase != _phase)
        {
            return null;
        }

        _cqHead = (_cqHead + 1) % CqEntries;
        _phase ^= _cqHead == 0;
        Controller.RingCompletionDoorbell(1, _cqHead);
        return entry;
    }

    /// <summary>Submits, processes and reaps one command.</summary>
    public CompletionEntry Run(SubmissionEntry entry)
    {
        Submit(entry);
        Assert.Equal(1, Controller.Process());
        return Reap() ?? throw new InvalidOperationException("no completion");
    }

    /// <summary>Writes PRP list entries at <paramref name="listMachine"/>.</summary>
    public void WriteList(ulong listMachine, IEnumerable<ulong> entries)
    {
        var bytes = entries.SelectMany(BitConverter.GetBytes).ToArray();
        Bed.Poke(listMachine, bytes);
    }
}
