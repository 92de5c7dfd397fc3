using PvIommu.Platform.Iommu;
using PvIommu.Platform.Memory;
using PvIommu.Platform.Pci;

namespace PvIommu.Devices.Nvme;

/// <summary>
/// An NVMe controller with one namespace (its media in <see cref="LocalMemory"/>) and I/O
/// queue pairs in host memory: submission entries (<see cref="SubmissionEntry"/>) fetched by
/// DMA, data moved by DMA through PRP entries and PRP lists, completion entries
/// (<see cref="CompletionEntry"/>) written by DMA with a phase tag.
/// </summary>
/// <remarks>
/// The caller drives it step by step: the driver writes entries, rings
/// <see cref="RingSubmissionDoorbell"/>, and the simulation calls <see cref="Process"/> to let
/// the controller execute commands; the driver then reaps completions and rings
/// <see cref="RingCompletionDoorbell"/>. <see cref="CreateQueuePair"/> stands for the admin
/// commands Create I/O Completion Queue and Create I/O Submission Queue, with physically
/// contiguous queues (PC = 1). Memory page size is 4 KiB (CC.MPS = 0). A refused DMA becomes a
/// completion status (data, PRP list) or a lost completion, and a refused command fetch makes
/// the controller fatal (CSTS.CFS) until <see cref="Reset"/>; none is thrown.
/// </remarks>
public sealed partial class NvmeController : IDmaDevice
{
    /// <summary>The memory page size (CC.MPS = 0): PRP entries address pages of this size.</summary>
    public const int PageSize = 4096;

    private readonly QueuePair?[] _queues;
    private long _commands;
    private long _reads;
    private long _writes;
    private long _flushes;
    private long _errors;
    private long _bytesToHost;
    private long _bytesFromHost;
    private long _prpListFetches;
    private long _lostCompletions;
    private long _fetchFaults;
    private long _invalidDoorbells;
    private int _next;

    /// <summary>A controller at <paramref name="sbdf"/> whose DMA goes through <paramref name="port"/>, with no I/O queues yet.</summary>
    /// <exception cref="ArgumentOutOfRangeException">invalid <paramref name="options"/>.</exception>
    public NvmeController(IDmaPort port, Sbdf sbdf, NvmeOptions? options = null)
    {
        Options = options ?? NvmeOptions.Default;
        Options.Validate();
        Dma = new DmaEngine(port, sbdf);
        Namespace = new LocalMemory((ulong)Options.BlockSize * Options.BlockCount);
        _queues = new QueuePair?[Options.MaxQueues + 1];
        _staging = CacheLineBuffer.Allocate(Options.MaxTransferBytes);
    }

    /// <inheritdoc/>
    public Sbdf Sbdf => Dma.Requester;

    /// <inheritdoc/>
    public DmaEngine Dma { get; }

    /// <summary>The DMA counters (bytes, transfers, faults).</summary>
    public DeviceCounters Counters => Dma.Counters;

    /// <summary>The controller's shape.</summary>
    public NvmeOptions Options { get; }

    /// <summary>Namespace 1's media: block <c>n</c> is at offset <c>n × BlockSize</c>.</summary>
    public LocalMemory Namespace { get; }

    /// <summary>CSTS.CFS: a command fetch was refused and the controller stopped; <see cref="Reset"/> clears it.</summary>
    public bool IsFatal { get; private set; }

    /// <summary>The command counters.</summary>
    public NvmeCounters Stats => new(
        _commands, _reads, _writes, _flushes, _errors, _bytesToHost, _bytesFromHost,
        _prpListFetches, _lostCompletions, _fetchFaults, _invalidDoorbells);

    /// <summary>Commands submitted (doorbell rung) but not yet fetched, over every queue.</summary>
    public int PendingCommands => _queues.Sum(q => q is null ? 0 : (q.SqTail - q.SqHead + q.SqEntries) % q.SqEntries);

    /// <summary>
    /// Creates I/O queue pair <paramref name="id"/>: a submission queue of
    /// <paramref name="sqEntries"/> 64-byte entries at bus address <paramref name="sqBase"/> and a
    /// completion queue of <paramref name="cqEntries"/> 16-byte entries at <paramref name="cqBase"/>,
    /// each contiguous in bus-address space and 4 KiB aligned. Heads and tails start at 0, phase 1.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">an id outside 1..MaxQueues, sizes outside 2..MaxQueueEntries, or unaligned bases.</exception>
    /// <exception cref="InvalidOperationException">the queue pair exists already.</exception>
    public void CreateQueuePair(ushort id, ulong sqBase, int sqEntries, ulong cqBase, int cqEntries)
    {
        ArgumentOutOfRangeException.ThrowIfZero(id);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(id, Options.MaxQueues);
        CheckQueue(sqBase, sqEntries, nameof(sqBase));
        CheckQueue(cqBase, cqEntries, nameof(cqBase));
        if (_queues[id] is not null)
        {
            throw new InvalidOperationException($"I/O queue {id} exists");
        }

        _queues[id] = new QueuePair(id, sqBase, sqEntries, cqBase, cqEntries);
    }

    /// <summary>Deletes I/O queue pair <paramref name="id"/> (commands not yet fetched are dropped).</summary>
    /// <returns>False when there is no such queue.</returns>
    public bool DeleteQueuePair(ushort id)
    {
        if (id == 0 || id >= _queues.Length || _queues[id] is null)
        {
            return false;
        }

        _queues[id] = null;
        return true;
    }

    /// <summary>The registers of queue pair <paramref name="id"/>, or null when it does not exist.</summary>
    public NvmeQueueState? GetQueue(ushort id) => id < _queues.Length ? _queues[id]?.State : null;

    /// <summary>SQyTDBL: the driver has written submission entries up to, not including, <paramref name="tail"/>.</summary>
    /// <returns>False, and ignored, for an unknown queue or an index outside it.</returns>
    public bool RingSubmissionDoorbell(ushort id, int tail)
    {
        if (Find(id) is not { } q || (uint)tail >= (uint)q.SqEntries)
        {
            _invalidDoorbells++;
            return false;
        }

        q.SqTail = tail;
        return true;
    }

    /// <summary>CQyHDBL: the driver has consumed completion entries up to, not including, <paramref name="head"/>.</summary>
    /// <returns>False, and ignored, for an unknown queue or an index outside it.</returns>
    public bool RingCompletionDoorbell(ushort id, int head)
    {
        if (Find(id) is not { } q || (uint)head >= (uint)q.CqEntries)
        {
            _invalidDoorbells++;
            return false;
        }

        q.CqHead = head;
        return true;
    }

    /// <summary>
    /// Executes up to <paramref name="maxCommands"/> submitted commands, one per queue in turn
    /// (round robin by queue id, the NVMe default arbitration), each with its data transfer and
    /// completion. A queue whose completion queue is full waits.
    /// </summary>
    /// <returns>Commands executed.</returns>
    public int Process(int maxCommands = int.MaxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxCommands);
        var done = 0;
        var idle = 0;
        while (done < maxCommands && !IsFatal && idle < _queues.Length)
        {
            _next = _next + 1 >= _queues.Length ? 1 : _next + 1;
            if (_queues[_next] is { HasCommand: true, CqFull: false } q)
            {
                Execute(q);
                done++;
                idle = 0;
            }
            else
            {
                idle++;
            }
        }

        return done;
    }

    /// <summary>A controller reset (CC.EN 1 → 0 → 1): every I/O queue deleted, CSTS.CFS cleared; the media keeps its data.</summary>
    public void Reset()
    {
        Array.Clear(_queues);
        IsFatal = false;
        _next = 0;
    }

    private QueuePair? Find(ushort id) => id != 0 && id < _queues.Length ? _queues[id] : null;

    private void CheckQueue(ulong queueBase, int entries, string name)
    {
        if ((queueBase & (PageSize - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(name, queueBase, "a queue starts on a 4 KiB page");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(entries, 2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(entries, Options.MaxQueueEntries);
    }
}
