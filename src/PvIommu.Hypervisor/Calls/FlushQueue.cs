namespace PvIommu.Hypervisor.Calls;

/// <summary>
/// The IOTLB invalidations a call (or a whole multicall) owes, merged per domain-id into
/// ranges and issued at once before the guest sees a result (spec §3 map/unmap, §4.1).
/// </summary>
internal sealed class FlushQueue
{
    private readonly List<(ushort DomainId, ulong Dfn, ulong Frames)> _ranges = [];

    public bool IsEmpty => _ranges.Count == 0 && DeferredPuts.Count == 0;

    /// <summary>Page references of unmapped frames, dropped only after the invalidations are issued.</summary>
    public List<Platform.Memory.Mfn> DeferredPuts { get; } = [];

    public void Add(ushort domainId, ulong dfn, ulong frames)
    {
        if (frames == 0)
        {
            return;
        }

        for (var i = 0; i < _ranges.Count; i++)
        {
            var (did, start, count) = _ranges[i];
            if (did == domainId && dfn <= start + count && start <= dfn + frames)
            {
                var first = Math.Min(start, dfn);
                _ranges[i] = (did, first, Math.Max(start + count, dfn + frames) - first);
                return;
            }
        }

        _ranges.Add((domainId, dfn, frames));
    }

    /// <summary>
    /// Issues every owed invalidation, one ranged command per merged range, and only then drops
    /// the references of the frames unmapped: no frame is freed while a device may still reach it.
    /// </summary>
    public void Drain(Host host)
    {
        foreach (var (did, dfn, frames) in _ranges)
        {
            host.Hardware.FlushPages(did, dfn, frames);
        }

        _ranges.Clear();
        host.PutRefs(DeferredPuts);
    }
}
