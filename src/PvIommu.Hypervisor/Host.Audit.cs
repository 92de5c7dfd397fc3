using PvIommu.Hypervisor.Domains;
using PvIommu.Hypervisor.Iommu;
using PvIommu.Platform.Memory;
using PvIommu.Platform.PageTables;

namespace PvIommu.Hypervisor;

/// <summary>The leak check every host-building test ends with (style habit 13).</summary>
public sealed partial class Host
{
    /// <summary>
    /// Checks the host's books: arena and pool pages equal the tables the contexts hold; every
    /// frame's reference count equals its allocation reference plus the context mappings that
    /// reach it; every hardware domain-id belongs to a context; every heap frame is accounted
    /// for; every device sits in a live context of its owner.
    /// </summary>
    /// <returns>One line per problem; empty when the books balance.</returns>
    public IReadOnlyList<string> Audit()
    {
        var problems = new List<string>();
        var all = _domains.Values.ToList();
        var mappings = new Dictionary<ulong, long>();
        var contexts = 0;
        ulong reservedFrames = 0;
        foreach (var domain in all)
        {
            lock (domain.Lock)
            {
                AuditDomain(domain, problems, mappings, ref contexts, ref reservedFrames);
            }
        }

        var allocated = 0UL;
        foreach (var (mfn, owner, count) in Frames.Allocated())
        {
            allocated++;
            var inP2m = _domains.TryGetValue(owner, out var d) && Frames.TryGetGfn(mfn, out var gfn)
                && d.P2m.Lookup(gfn) is { } e && e.Mfn == mfn && P2m.IsRam(e.Type) ? 1 : 0;
            var expected = inP2m + mappings.GetValueOrDefault(mfn.Value);
            if (count != expected)
            {
                problems.Add($"{mfn} of d{owner} has {count} references, {expected} expected ({inP2m} allocation + {mappings.GetValueOrDefault(mfn.Value)} mappings)");
            }
        }

        if (DomainIds.InUse != contexts)
        {
            problems.Add($"{DomainIds.InUse} hardware domain-ids in use for {contexts} contexts");
        }

        var accounted = Heap.FreeFrames + allocated + reservedFrames;
        if (accounted != Heap.TotalFrames)
        {
            problems.Add($"heap: {Heap.FreeFrames} free + {allocated} allocated + {reservedFrames} in arenas and pools = {accounted}, not {Heap.TotalFrames}");
        }

        foreach (var (device, binding) in _devices)
        {
            if (binding.Context.State != ContextState.Live || !binding.Owner.Iommu.AllContexts.Contains(binding.Context))
            {
                problems.Add($"{device} is in {binding.Context}, not a live context of its owner {binding.Owner}");
            }
        }

        return problems;
    }

    private void AuditDomain(Domain domain, List<string> problems, Dictionary<ulong, long> mappings, ref int contexts, ref ulong reservedFrames)
    {
        var iommu = domain.Iommu;
        if (iommu.Arena is { } arena)
        {
            reservedFrames += (ulong)arena.Capacity;
            var held = iommu.GuestContexts.Sum(c => c.TablePages);
            if (arena.InUse != held)
            {
                problems.Add($"{domain}: arena has {arena.InUse} pages in use, its contexts hold {held}");
            }
        }

        if (iommu.DefaultPool is { } pool && iommu.Default is { } ctx0)
        {
            reservedFrames += (ulong)pool.Capacity;
            if (pool.InUse != ctx0.TablePages)
            {
                problems.Add($"{domain}: context 0's pool has {pool.InUse} pages in use, context 0 holds {ctx0.TablePages}");
            }
        }

        foreach (var context in iommu.AllContexts)
        {
            contexts++;
            CountMappings(context, mappings);
        }
    }

    private void CountMappings(IommuContext context, Dictionary<ulong, long> mappings)
    {
        var cursor = 0UL;
        while (context.Table.TryNextMapped(cursor, out var dfn, out var leaf))
        {
            var frames = PageLevel.Frames(leaf.Level);
            for (ulong i = 0; i < frames; i++)
            {
                if (Frames.CountOf(new Mfn(leaf.Mfn + i)) > 0)
                {
                    mappings[leaf.Mfn + i] = mappings.GetValueOrDefault(leaf.Mfn + i) + 1;
                }
            }

            cursor = dfn + frames;
        }
    }
}
