using PvIommu.Abi;

namespace PvIommu.Guest.Dma;

/// <summary>
/// The deferred policy's flush queue (Linux's <c>iova_fq</c>): unmaps wait, with their IOVA
/// still mapped and not reusable, until 256 are queued or 10 ms have passed since the first.
/// Then one multicall issues a flush_pages over the whole span followed by the unmap_pages (one
/// per run of queued blocks adjacent in IOVA space): the hypervisor merges the ranges the unmaps
/// owe into the flush's, so the batch costs one trap and one invalidation. Only then do the IOVAs
/// go back to the allocator.
/// </summary>
internal sealed partial class IommuDmaDevice
{
    private readonly List<QueuedUnmap> _queue = [];
    private readonly List<UnmapRun> _runs = [];
    private long _deadline;
    private long _queued;
    private long _flushesByCount;
    private long _flushesByTimer;
    private long _flushesOnDemand;

    public override void Poll()
    {
        if (_queue.Count != 0 && Options.Clock.NowNanoseconds >= _deadline)
        {
            _flushesByTimer++;
            Flush();
        }
    }

    public override int FlushQueue()
    {
        if (_queue.Count == 0)
        {
            return 0;
        }

        _flushesOnDemand++;
        return Flush();
    }

    private void Enqueue(int cpu, ulong pfn, ulong pages)
    {
        if (_queue.Count == 0)
        {
            _deadline = Options.Clock.NowNanoseconds + Options.FlushTimeoutNanoseconds;
        }

        _queue.Add(new QueuedUnmap(cpu, pfn, pages));
        _queued++;
        if (_queue.Count >= Options.FlushQueueEntries)
        {
            _flushesByCount++;
            Flush();
        }
    }

    /// <summary>
    /// Issues the queue in one trap; frees each IOVA whose unmap succeeded. Queued blocks that
    /// follow each other in the queue and in IOVA space (the pages of one refill leave the pool in
    /// ring order) go out as one unmap_pages entry.
    /// </summary>
    /// <returns>0 or the first unmap error.</returns>
    private int Flush()
    {
        var flushFirst = _queue.Count > 1 && Driver.Has(CapFlags.DeferredFlush);
        var calls = Driver.Ops.Rent();
        if (flushFirst)
        {
            // First in the batch: every later unmap's range falls inside it and merges (spec §4.1).
            var first = ulong.MaxValue;
            var end = 0UL;
            foreach (var q in _queue)
            {
                first = Math.Min(first, q.Pfn);
                end = Math.Max(end, q.Pfn + q.Pages);
            }

            _domain.AddFlush(calls, first, end);
        }

        // The unmaps fill the batch after the flush entry, if any, one per run, in queue order.
        var unmaps = calls.Count;
        MergeRuns();
        foreach (var run in _runs)
        {
            _domain.AddUnmap(calls, run.Pfn, (uint)run.Pages);
        }

        Driver.Ops.Issue(calls);
        var error = 0;
        for (var r = 0; r < _runs.Count; r++)
        {
            var run = _runs[r];
            var (ret, frames) = _domain.CompleteUnmap(calls, unmaps + r, run.Pfn);
            var unmappedEnd = ret == 0 ? run.Pfn + run.Pages : run.Pfn + frames;
            for (var i = run.FirstQueued; i < run.FirstQueued + run.Queued; i++)
            {
                var q = _queue[i];
                var blockRet = q.Pfn + q.Pages <= unmappedEnd ? 0 : Retry(run, ret, q, unmappedEnd);
                if (blockRet == 0)
                {
                    _iova.Free(q.Cpu, q.Pfn, q.Pages);
                }
                else
                {
                    _unmapFailures++;
                    error = error != 0 ? error : blockRet;
                }
            }
        }

        _queue.Clear();
        _runs.Clear();
        Driver.Ops.Return(calls);
        return error;
    }

    /// <summary>
    /// Groups the queue into runs: a block joins the run before it when it is adjacent to the
    /// run's first or last frame (the allocator's tree hands IOVAs out downwards, so a refill's
    /// blocks may descend), and the run still fits an entry's u32 count.
    /// </summary>
    private void MergeRuns()
    {
        for (var i = 0; i < _queue.Count; i++)
        {
            var q = _queue[i];
            if (_runs.Count != 0)
            {
                var run = _runs[^1];
                if (run.Pages + q.Pages <= uint.MaxValue && (q.Pfn == run.Pfn + run.Pages || q.Pfn + q.Pages == run.Pfn))
                {
                    _runs[^1] = run with { Pfn = Math.Min(run.Pfn, q.Pfn), Pages = run.Pages + q.Pages, Queued = run.Queued + 1 };
                    continue;
                }
            }

            _runs.Add(new UnmapRun(i, 1, q.Pfn, q.Pages));
        }
    }

    /// <summary>
    /// A block of a run whose entry stopped before the block's end: a run of one block failed as
    /// its own entry would have; in a longer run the block's frames left mapped are unmapped on
    /// their own, so one block's error leaves no other block mapped.
    /// </summary>
    private int Retry(UnmapRun run, int ret, QueuedUnmap block, ulong unmappedEnd)
    {
        if (run.Queued == 1)
        {
            return ret;
        }

        var from = Math.Max(block.Pfn, unmappedEnd);
        return _domain.Unmap(from, block.Pfn + block.Pages - from, out _);
    }

    private readonly record struct QueuedUnmap(int Cpu, ulong Pfn, ulong Pages);

    /// <summary>Queued blocks [<paramref name="FirstQueued"/>, + <paramref name="Queued"/>) unmapped by one entry: device frames [<paramref name="Pfn"/>, + <paramref name="Pages"/>).</summary>
    private readonly record struct UnmapRun(int FirstQueued, int Queued, ulong Pfn, ulong Pages);
}
