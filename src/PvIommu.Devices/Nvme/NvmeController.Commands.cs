namespace PvIommu.Devices.Nvme;

public sealed partial class NvmeController
{
    private readonly ArraySegment<byte> _staging;

    /// <summary>Fetch, execute, complete one command of <paramref name="q"/>.</summary>
    private void Execute(QueuePair q)
    {
        Span<byte> raw = stackalloc byte[SubmissionEntry.Size];
        if (!Dma.Read(q.SqSlot, raw).IsOk)
        {
            // A controller that cannot fetch its commands has lost its queues: it reports
            // Controller Fatal Status and stops, as real controllers do on a fetch error.
            _fetchFaults++;
            IsFatal = true;
            return;
        }

        q.AdvanceSqHead();
        var command = SubmissionEntry.Read(raw);
        var status = Run(command);
        _commands++;
        if (status != NvmeStatus.Success)
        {
            _errors++;
        }

        Span<byte> cqe = stackalloc byte[CompletionEntry.Size];
        new CompletionEntry(0, (ushort)q.SqHead, q.Id, command.CommandId, status, q.Phase).Write(cqe);
        if (!Dma.Write(q.CqSlot, cqe).IsOk)
        {
            _lostCompletions++;
        }

        // The entry counts as posted either way: the controller never hears of a refused write.
        q.AdvanceCqTail();
    }

    private NvmeStatus Run(in SubmissionEntry command)
    {
        switch (command.Opcode)
        {
            case NvmeOpcode.Flush:
                _flushes++;
                return command.NamespaceId == 1 ? NvmeStatus.Success : NvmeStatus.InvalidNamespace;
            case NvmeOpcode.Read:
                _reads++;
                return ReadOrWrite(command);
            case NvmeOpcode.Write:
                _writes++;
                return ReadOrWrite(command);
            default:
                return NvmeStatus.InvalidOpcode;
        }
    }

    private NvmeStatus ReadOrWrite(in SubmissionEntry command)
    {
        if (command.Flags != 0)
        {
            return NvmeStatus.InvalidField;
        }

        if (command.NamespaceId != 1)
        {
            return NvmeStatus.InvalidNamespace;
        }

        var blocks = (ulong)command.Blocks;
        if ((ulong)Options.MaxTransferBytes / (ulong)Options.BlockSize < blocks)
        {
            return NvmeStatus.InvalidField;
        }

        if (command.StartLba >= Options.BlockCount || Options.BlockCount - command.StartLba < blocks)
        {
            return NvmeStatus.LbaOutOfRange;
        }

        var bytes = (int)blocks * Options.BlockSize;
        var status = BuildSegments(command.Prp1, command.Prp2, bytes);
        if (status != NvmeStatus.Success)
        {
            return status;
        }

        var media = command.StartLba * (ulong)Options.BlockSize;
        var data = _staging.AsSpan(0, bytes);
        return command.Opcode == NvmeOpcode.Read ? ToHost(media, data) : FromHost(media, data);
    }

    /// <summary>A read: the media into staging, then one DMA write per PRP segment.</summary>
    private NvmeStatus ToHost(ulong media, Span<byte> data)
    {
        Namespace.Read(media, data);
        var offset = 0;
        foreach (var (address, length) in _segments)
        {
            if (!Dma.Write(address, data.Slice(offset, length)).IsOk)
            {
                return NvmeStatus.DataTransferError;
            }

            offset += length;
            _bytesToHost += length;
        }

        return NvmeStatus.Success;
    }

    /// <summary>A write: one DMA read per PRP segment into staging; the media changes only if all arrived.</summary>
    private NvmeStatus FromHost(ulong media, Span<byte> data)
    {
        var offset = 0;
        foreach (var (address, length) in _segments)
        {
            if (!Dma.Read(address, data.Slice(offset, length)).IsOk)
            {
                return NvmeStatus.DataTransferError;
            }

            offset += length;
        }

        Namespace.Write(media, data);
        _bytesFromHost += data.Length;
        return NvmeStatus.Success;
    }
}
