using System.Buffers.Binary;
using PvIommu.Devices.Nvme;
using PvIommu.Platform.Memory;

namespace PvIommu.Devices.Drivers;

/// <summary>A finished I/O as the driver reports it.</summary>
/// <param name="CommandId">The CID the submit returned.</param>
/// <param name="Opcode">Read, write or flush.</param>
/// <param name="Lba">First logical block.</param>
/// <param name="Bytes">Bytes the command covered.</param>
/// <param name="Status">The controller's status.</param>
public readonly record struct NvmeIoCompletion(ushort CommandId, NvmeOpcode Opcode, ulong Lba, int Bytes, NvmeStatus Status);

/// <summary>Receives each finished I/O.</summary>
/// <param name="completion">What finished.</param>
/// <param name="data">For a successful read, the data (valid only during the call); otherwise empty.</param>
public delegate void NvmeCompletionHandler(in NvmeIoCompletion completion, ReadOnlySpan<byte> data);

/// <summary>
/// One NVMe I/O queue pair driven the way Linux's nvme driver drives it, over
/// <see cref="IDriverEnvironment"/>: the queues and one PRP list page per command slot are
/// mapped once at creation (the PRP lists come from a DMA pool), and each I/O maps its data
/// pages at one contiguous IOVA range when submitted and unmaps them when reaped.
/// </summary>
/// <remarks>
/// <code>
///  submit: pages ─ map ─► IOVA ─► PRP1 = IOVA, PRP2 = IOVA + 4 KiB (2 pages)
///                                          or = the slot's PRP list [IOVA + 4 KiB, + 8 KiB, …]
///          SQE at SQ tail (CID = slot) ─► SQ tail doorbell
///  poll:   CQE at CQ head while its phase tag matches ─► unmap, free, report ─► CQ head doorbell
/// </code>
/// Both queues have depth + 1 entries, so at most depth commands are outstanding and neither
/// queue can overflow. Each submit rings the doorbell; each poll rings the completion doorbell
/// once.
/// </remarks>
public sealed class NvmeQueueDriver
{
    private const int PageSize = NvmeController.PageSize;
    private const int MaxListEntries = PageSize / sizeof(ulong);
    private readonly NvmeController _controller;
    private readonly IDriverEnvironment _environment;
    private readonly DmaRegion _sq;
    private readonly DmaRegion _cq;
    private readonly DmaRegion[] _prpLists;
    private readonly Slot?[] _slots;
    private readonly Stack<ushort> _free = new();
    private readonly ArraySegment<byte> _data;
    private int _sqTail;
    private int _cqHead;
    private bool _phase = true;
    private bool _deleted;
    private long _submitted;
    private long _completed;
    private long _errors;
    private long _busy;
    private long _mapFailures;

    private NvmeQueueDriver(NvmeController controller, IDriverEnvironment environment, ushort queueId, DmaRegion sq, DmaRegion cq, DmaRegion[] prpLists)
    {
        _controller = controller;
        _environment = environment;
        QueueId = queueId;
        _sq = sq;
        _cq = cq;
        _prpLists = prpLists;
        _slots = new Slot?[prpLists.Length];
        for (var i = prpLists.Length - 1; i >= 0; i--)
        {
            _free.Push((ushort)i);
        }

        _data = CacheLineBuffer.Allocate(controller.Options.MaxTransferBytes);
    }

    /// <summary>The queue pair's id on the controller.</summary>
    public ushort QueueId { get; }

    /// <summary>Most commands outstanding at once.</summary>
    public int Depth => _slots.Length;

    /// <summary>Commands submitted and not yet reaped.</summary>
    public int Outstanding => Depth - _free.Count;

    /// <summary>The driver's counters.</summary>
    public NvmeDriverCounters Stats => new(_submitted, _completed, _errors, _busy, _mapFailures);

    /// <summary>
    /// Creates queue pair <paramref name="queueId"/> of <paramref name="depth"/> outstanding
    /// commands: allocates and maps the queues and the PRP list pages, and creates the pair on
    /// the controller.
    /// </summary>
    /// <returns>Null when memory or mappings could not be had (nothing is then held).</returns>
    /// <exception cref="ArgumentOutOfRangeException">a depth outside 1..MaxQueueEntries − 1, or a controller MDTS above 2 MiB + 4 KiB (one PRP list page).</exception>
    public static NvmeQueueDriver? TryCreate(NvmeController controller, IDriverEnvironment environment, ushort queueId, int depth)
    {
        ArgumentNullException.ThrowIfNull(controller);
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentOutOfRangeException.ThrowIfLessThan(depth, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(depth, controller.Options.MaxQueueEntries - 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(controller.Options.MaxTransferBytes, (MaxListEntries + 1) * PageSize, nameof(controller));
        var held = new List<DmaRegion>();
        var sq = Take(held, DmaRegion.TryCreate(environment, (depth + 1) * SubmissionEntry.Size, DmaDirection.ToDevice));
        var cq = sq is null ? null : Take(held, DmaRegion.TryCreate(environment, (depth + 1) * CompletionEntry.Size, DmaDirection.FromDevice));
        var lists = new DmaRegion[depth];
        for (var i = 0; i < depth && cq is not null; i++)
        {
            if (Take(held, DmaRegion.TryCreate(environment, PageSize, DmaDirection.ToDevice)) is not { } list)
            {
                break;
            }

            lists[i] = list;
        }

        if (held.Count != depth + 2)
        {
            held.ForEach(r => r.Release());
            return null;
        }

        controller.CreateQueuePair(queueId, sq!.Iova, depth + 1, cq!.Iova, depth + 1);
        return new NvmeQueueDriver(controller, environment, queueId, sq, cq, lists);
    }

    /// <summary>Submits a read of <paramref name="bytes"/> bytes (whole blocks, up to MDTS) from block <paramref name="lba"/>.</summary>
    /// <returns>False when the queue is full or pages or mappings were refused (nothing is then submitted).</returns>
    /// <exception cref="ArgumentOutOfRangeException">a size that is not whole blocks or exceeds MDTS.</exception>
    public bool TrySubmitRead(ulong lba, int bytes, out ushort commandId)
    {
        CheckSize(bytes);
        return TrySubmit(NvmeOpcode.Read, lba, bytes, [], out commandId);
    }

    /// <summary>Submits a write of <paramref name="data"/> (whole blocks, up to MDTS) to block <paramref name="lba"/>.</summary>
    /// <returns>False when the queue is full or pages or mappings were refused (nothing is then submitted).</returns>
    /// <exception cref="ArgumentOutOfRangeException">a size that is not whole blocks or exceeds MDTS.</exception>
    public bool TrySubmitWrite(ulong lba, ReadOnlySpan<byte> data, out ushort commandId)
    {
        CheckSize(data.Length);
        return TrySubmit(NvmeOpcode.Write, lba, data.Length, data, out commandId);
    }

    /// <summary>Submits a flush.</summary>
    /// <returns>False when the queue is full.</returns>
    public bool TrySubmitFlush(out ushort commandId) => TrySubmit(NvmeOpcode.Flush, 0, 0, [], out commandId);

    /// <summary>
    /// Reaps every completion the controller has posted: unmaps and frees each I/O's pages,
    /// hands it (with a read's data) to <paramref name="onCompletion"/>, and rings the
    /// completion doorbell once.
    /// </summary>
    /// <returns>Completions reaped.</returns>
    public int Poll(NvmeCompletionHandler? onCompletion)
    {
        var reaped = 0;
        Span<byte> raw = stackalloc byte[CompletionEntry.Size];
        while (!_deleted && Outstanding > 0)
        {
            _cq.Read(_cqHead * CompletionEntry.Size, raw);
            if (CompletionEntry.PhaseOf(raw) != _phase)
            {
                break;
            }

            var entry = CompletionEntry.Read(raw);
            AdvanceCqHead();
            reaped++;
            if (entry.CommandId >= _slots.Length || _slots[entry.CommandId] is not { } slot)
            {
                continue;
            }

            Complete(entry, slot, onCompletion);
        }

        if (reaped > 0)
        {
            _controller.RingCompletionDoorbell(QueueId, _cqHead);
        }

        return reaped;
    }

    /// <summary>
    /// Deletes the queue pair on the controller, then unmaps and frees everything: outstanding
    /// I/Os' pages (those commands are lost), the PRP lists and the queues. Later calls do nothing.
    /// </summary>
    public void Delete()
    {
        if (_deleted)
        {
            return;
        }

        _deleted = true;
        _controller.DeleteQueuePair(QueueId);
        for (var i = 0; i < _slots.Length; i++)
        {
            if (_slots[i] is { } slot)
            {
                Release(slot);
                _slots[i] = null;
            }
        }

        Array.ForEach(_prpLists, r => r.Release());
        _sq.Release();
        _cq.Release();
    }

    private static DmaRegion? Take(List<DmaRegion> held, DmaRegion? region)
    {
        if (region is not null)
        {
            held.Add(region);
        }

        return region;
    }

    private void CheckSize(int bytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bytes, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bytes, _controller.Options.MaxTransferBytes);
        if (bytes % _controller.Options.BlockSize != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(bytes), bytes, "whole logical blocks");
        }
    }

    private bool TrySubmit(NvmeOpcode opcode, ulong lba, int bytes, ReadOnlySpan<byte> data, out ushort commandId)
    {
        commandId = 0;
        if (_deleted || !_free.TryPeek(out var cid))
        {
            _busy++;
            return false;
        }

        var slot = new Slot(opcode, lba, bytes, new ulong[(bytes + PageSize - 1) / PageSize]);
        if (!TryMapData(slot, data))
        {
            _mapFailures++;
            return false;
        }

        _free.Pop();
        _slots[cid] = slot;
        var (prp1, prp2) = Prps(cid, slot);
        var blocks = bytes / _controller.Options.BlockSize;
        var entry = opcode switch
        {
            NvmeOpcode.Read => SubmissionEntry.ReadCommand(cid, lba, blocks, prp1, prp2),
            NvmeOpcode.Write => SubmissionEntry.WriteCommand(cid, lba, blocks, prp1, prp2),
            _ => SubmissionEntry.FlushCommand(cid),
        };
        Span<byte> raw = stackalloc byte[SubmissionEntry.Size];
        entry.Write(raw);
        _sq.Write(_sqTail * SubmissionEntry.Size, raw);
        _sqTail = RingIndex.Next(_sqTail, Depth + 1);
        _controller.RingSubmissionDoorbell(QueueId, _sqTail);
        _submitted++;
        commandId = cid;
        return true;
    }

    /// <summary>Allocates the data pages, fills them for a write, and maps them at one IOVA range.</summary>
    private bool TryMapData(Slot slot, ReadOnlySpan<byte> data)
    {
        var pages = slot.Pages;
        for (var i = 0; i < pages.Length; i++)
        {
            if (!_environment.TryAllocatePage(out pages[i]))
            {
                FreePages(pages.AsSpan(0, i));
                return false;
            }

            if (!data.IsEmpty)
            {
                var offset = i * PageSize;
                _environment.Write(pages[i], data.Slice(offset, Math.Min(PageSize, data.Length - offset)));
            }
        }

        if (pages.Length > 0 && !_environment.TryMap(pages, Direction(slot.Opcode), out slot.Iova))
        {
            FreePages(pages);
            return false;
        }

        return true;
    }

    /// <summary>PRP1 and PRP2 for a slot's pages, writing its PRP list when it needs one.</summary>
    private (ulong Prp1, ulong Prp2) Prps(ushort cid, Slot slot)
    {
        var pages = slot.Pages.Length;
        if (pages <= 1)
        {
            return (slot.Iova, 0);
        }

        if (pages == 2)
        {
            return (slot.Iova, slot.Iova + PageSize);
        }

        Span<byte> entries = stackalloc byte[(pages - 1) * sizeof(ulong)];
        for (var i = 1; i < pages; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(entries[((i - 1) * sizeof(ulong))..], slot.Iova + ((ulong)i * PageSize));
        }

        _prpLists[cid].Write(0, entries);
        return (slot.Iova, _prpLists[cid].Iova);
    }

    private void Complete(in CompletionEntry entry, Slot slot, NvmeCompletionHandler? onCompletion)
    {
        var data = Span<byte>.Empty;
        if (entry.IsSuccess && slot.Opcode == NvmeOpcode.Read)
        {
            data = _data.AsSpan(0, slot.Bytes);
            for (var i = 0; i < slot.Pages.Length; i++)
            {
                var offset = i * PageSize;
                _environment.Read(slot.Pages[i], data.Slice(offset, Math.Min(PageSize, slot.Bytes - offset)));
            }
        }

        Release(slot);
        _slots[entry.CommandId] = null;
        _free.Push(entry.CommandId);
        _completed++;
        if (!entry.IsSuccess)
        {
            _errors++;
        }

        onCompletion?.Invoke(new NvmeIoCompletion(entry.CommandId, slot.Opcode, slot.Lba, slot.Bytes, entry.Status), data);
    }

    private void Release(Slot slot)
    {
        if (slot.Pages.Length > 0)
        {
            _environment.Unmap(slot.Iova, slot.Pages.Length, Direction(slot.Opcode));
            FreePages(slot.Pages);
        }
    }

    private void FreePages(ReadOnlySpan<ulong> pages)
    {
        foreach (var page in pages)
        {
            _environment.FreePage(page);
        }
    }

    private void AdvanceCqHead()
    {
        _cqHead++;
        if (_cqHead == Depth + 1)
        {
            _cqHead = 0;
            _phase = !_phase;
        }
    }

    private static DmaDirection Direction(NvmeOpcode opcode) =>
        opcode == NvmeOpcode.Read ? DmaDirection.FromDevice : DmaDirection.ToDevice;

    /// <summary>An outstanding command: what it is and the pages it has mapped.</summary>
    private sealed class Slot(NvmeOpcode opcode, ulong lba, int bytes, ulong[] pages)
    {
        public ulong Iova;

        public NvmeOpcode Opcode { get; } = opcode;

        public ulong Lba { get; } = lba;

        public int Bytes { get; } = bytes;

        public ulong[] Pages { get; } = pages;
    }
}

/// <summary>What an NVMe queue driver has done.</summary>
/// <param name="Submitted">Commands submitted.</param>
/// <param name="Completed">Commands reaped.</param>
/// <param name="Errors">Reaped commands with a status other than success.</param>
/// <param name="Busy">Submits refused because the queue was full.</param>
/// <param name="MapFailures">Submits refused because pages or a mapping could not be had.</param>
public readonly record struct NvmeDriverCounters(long Submitted, long Completed, long Errors, long Busy, long MapFailures);
