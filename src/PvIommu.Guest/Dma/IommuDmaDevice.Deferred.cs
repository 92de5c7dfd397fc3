using PvIommu.Abi;

namespace PvIommu.Guest.Dma;

/// <summary>
/// The deferred policy's flush queue (Linux's <c>iova_fq</c>): unmaps wait, with their IOVA
/// still mapped and not reusable, until 256 are queued or 10 ms have passed since the first.
/// Then one multicall issues a flush_pages over the whole span followed by every unmap_pages:
/// the hypervisor merges the ranges the unmaps owe into the flush's, so the batch costs one
/// trap and one invalidation. Only then do the IOVAs go back to the allocator.
/// </summary>
internal sealed partial class IommuDmaDevice
{
    private readonly List<QueuedUnmap> _queue = [];
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

    /// <summary>Issues the queue in one trap; frees each IOVA whose unmap succeeded.</summary>
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

        // The unmaps fill the batch after the flush entry, if any, in queue order.
        var unmaps = calls.Count;
        foreach (var q in _queue)
        {
            _domain.AddUnmap(calls, q.Pfn, (uint)q.Pages);
        }

        Driver.Ops.Issue(calls);
        var error = 0;
        for (var i = 0; i < _queue.Count; i++)
        {
            var q = _queue[i];
            var (ret, _) = _domain.CompleteUnmap(calls, unmaps + i, q.Pfn);
            if (ret == 0)
            {
                _iova.Free(q.Cpu, q.Pfn, q.Pages);
            }
            else
            {
                _unmapFailures++;
                error = error != 0 ? error : ret;
            }
        }

        _queue.Clear();
        Driver.Ops.Return(calls);
        return error;
    }

    private readonly record struct QueuedUnmap(int Cpu, ulong Pfn, ulong Pages);
}
