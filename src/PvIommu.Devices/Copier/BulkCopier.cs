using PvIommu.Platform.Iommu;
using PvIommu.Platform.Memory;
using PvIommu.Platform.Pci;

namespace PvIommu.Devices.Copier;

/// <summary>
/// A GPU-like copy engine: large transfers between host memory (pinned and mapped by the
/// driver, reached by DMA) and host memory or its own memory (<see cref="Local"/>), moved in
/// chunks of <see cref="ChunkBytes"/>.
/// </summary>
/// <remarks>
/// Commands queue in order (<see cref="Submit"/>) and move when the caller steps the engine
/// (<see cref="Step"/>): each step moves up to a given number of chunks, so a simulation can
/// interleave a 1 GiB copy with other work. A chunk is a DMA read of the source then a DMA
/// write of the destination (one side is local memory for uploads and downloads). The first
/// refused request ends the command with <see cref="CopyStatus.DmaFault"/>; nothing is thrown.
/// </remarks>
public sealed class BulkCopier : IDmaDevice
{
    private readonly Queue<(long Id, CopyCommand Command)> _queue = new();
    private readonly Queue<CopyCompletion> _completions = new();
    private readonly ArraySegment<byte> _chunk;
    private ulong _progress;
    private long _nextId;
    private long _commands;
    private long _failed;
    private long _chunks;
    private long _bytesCopied;
    private long _runId;
    private CopyCompletion _runResult;

    /// <summary>A copier at <paramref name="sbdf"/> with <paramref name="localBytes"/> of device memory.</summary>
    /// <param name="port">Where its DMA goes (the machine).</param>
    /// <param name="sbdf">Its PCI address.</param>
    /// <param name="localBytes">Size of its own memory (sparse: costs what is written).</param>
    /// <param name="chunkBytes">Bytes per chunk, 4 KiB to 4 MiB (default 64 KiB).</param>
    /// <exception cref="ArgumentOutOfRangeException">a chunk size out of range or empty local memory.</exception>
    public BulkCopier(IDmaPort port, Sbdf sbdf, ulong localBytes, int chunkBytes = 64 * 1024)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkBytes, 4096);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(chunkBytes, 4 << 20);
        Dma = new DmaEngine(port, sbdf);
        Local = new LocalMemory(localBytes);
        ChunkBytes = chunkBytes;
        _chunk = CacheLineBuffer.Allocate(chunkBytes);
    }

    /// <inheritdoc/>
    public Sbdf Sbdf => Dma.Requester;

    /// <inheritdoc/>
    public DmaEngine Dma { get; }

    /// <summary>The DMA counters (bytes, transfers, faults).</summary>
    public DeviceCounters Counters => Dma.Counters;

    /// <summary>The copier's own memory (VRAM).</summary>
    public LocalMemory Local { get; }

    /// <summary>Bytes moved per chunk.</summary>
    public int ChunkBytes { get; }

    /// <summary>Commands submitted and not finished.</summary>
    public int Pending => _queue.Count;

    /// <summary>Finished commands not yet taken.</summary>
    public int Completions => _completions.Count;

    /// <summary>The copy counters.</summary>
    public CopierCounters Stats => new(_commands, _failed, _chunks, _bytesCopied);

    /// <summary>Queues a copy; it moves when the engine is stepped.</summary>
    /// <returns>Its id, echoed in its <see cref="CopyCompletion"/>.</returns>
    public long Submit(CopyCommand command)
    {
        var id = ++_nextId;
        _queue.Enqueue((id, command));
        return id;
    }

    /// <summary>Moves up to <paramref name="maxChunks"/> chunks of the queued commands, oldest first.</summary>
    /// <returns>Chunks moved (refused ones not counted).</returns>
    public int Step(int maxChunks)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxChunks);
        var moved = 0;
        while (_queue.Count > 0 && (moved < maxChunks || _queue.Peek().Command.Length == 0))
        {
            var (id, command) = _queue.Peek();
            if (!IsLocalRangeValid(command))
            {
                Finish(id, command, CopyStatus.LocalRangeInvalid, default);
                continue;
            }

            if (command.Length > 0)
            {
                var result = MoveChunk(command);
                if (!result.IsOk)
                {
                    Finish(id, command, CopyStatus.DmaFault, result);
                    continue;
                }

                moved++;
            }

            if (_progress == command.Length)
            {
                Finish(id, command, CopyStatus.Done, default);
            }
        }

        return moved;
    }

    /// <summary>Takes the oldest finished command (<see cref="Run"/>'s own are not queued here).</summary>
    public bool TryTakeCompletion(out CopyCompletion completion) => _completions.TryDequeue(out completion);

    /// <summary>
    /// Submits <paramref name="command"/> and steps until it, and everything queued before it,
    /// has finished; its completion is returned rather than queued.
    /// </summary>
    public CopyCompletion Run(CopyCommand command)
    {
        _runId = Submit(command);
        while (_queue.Count > 0)
        {
            Step(int.MaxValue);
        }

        _runId = 0;
        return _runResult;
    }

    private DmaResult MoveChunk(CopyCommand command)
    {
        var length = (int)Math.Min((ulong)ChunkBytes, command.Length - _progress);
        var chunk = _chunk.AsSpan(0, length);
        var source = command.Source + _progress;
        var destination = command.Destination + _progress;
        if (command.SourceSpace == CopySpace.Host)
        {
            var read = Dma.Read(source, chunk);
            if (!read.IsOk)
            {
                return read;
            }
        }
        else
        {
            Local.Read(source, chunk);
        }

        if (command.DestinationSpace == CopySpace.Host)
        {
            var write = Dma.Write(destination, chunk);
            if (!write.IsOk)
            {
                return write;
            }
        }
        else
        {
            Local.Write(destination, chunk);
        }

        _progress += (ulong)length;
        _chunks++;
        _bytesCopied += length;
        return DmaResult.Ok;
    }

    private bool IsLocalRangeValid(CopyCommand command) =>
        (command.SourceSpace != CopySpace.Local || Local.Contains(command.Source, command.Length))
        && (command.DestinationSpace != CopySpace.Local || Local.Contains(command.Destination, command.Length));

    private void Finish(long id, CopyCommand command, CopyStatus status, DmaResult fault)
    {
        _queue.Dequeue();
        var completion = new CopyCompletion(id, command, status, _progress, fault);
        if (id == _runId)
        {
            _runResult = completion;
        }
        else
        {
            _completions.Enqueue(completion);
        }

        _commands++;
        if (status != CopyStatus.Done)
        {
            _failed++;
        }

        _progress = 0;
    }
}

/// <summary>What a bulk copier has done, beside its DMA counters.</summary>
/// <param name="Commands">Commands finished.</param>
/// <param name="Failed">Commands that ended with a fault or an invalid local range.</param>
/// <param name="Chunks">Chunks moved.</param>
/// <param name="BytesCopied">Bytes that reached a destination.</param>
public readonly record struct CopierCounters(long Commands, long Failed, long Chunks, long BytesCopied);
