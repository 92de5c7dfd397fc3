namespace PvIommu.Hypervisor.Iommu;

/// <summary>Hands out the 16-bit hardware domain-ids that tag IOTLB entries, one per context.</summary>
/// <remarks>Id 0 is never used (VT-d reserves it when caching mode is set).</remarks>
internal sealed class DomainIdAllocator
{
    private readonly bool[] _used = new bool[65536];
    private readonly Lock _lock = new();
    private int _next = 1;

    public int InUse { get; private set; }

    public bool TryAllocate(out ushort id)
    {
        lock (_lock)
        {
            for (var i = 0; i < 65535; i++)
            {
                var candidate = ((_next - 1 + i) % 65535) + 1;
                if (!_used[candidate])
                {
                    _used[candidate] = true;
                    _next = candidate + 1;
                    InUse++;
                    id = (ushort)candidate;
                    return true;
                }
            }
        }

        id = 0;
        return false;
    }

    public void Free(ushort id)
    {
        lock (_lock)
        {
            if (!_used[id])
            {
                throw new InvalidOperationException($"domain-id {id} freed twice");
            }

            _used[id] = false;
            InUse--;
        }
    }
}
