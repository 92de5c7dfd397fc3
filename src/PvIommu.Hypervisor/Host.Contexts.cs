using PvIommu.Abi;
using PvIommu.Hypervisor.Domains;
using PvIommu.Hypervisor.Iommu;
using PvIommu.Platform.Memory;
using PvIommu.Platform.PageTables;
using PvIommu.Platform.Pci;

namespace PvIommu.Hypervisor;

/// <summary>Making, filling and tearing down contexts: shared by the toolstack and the sub-op handlers.</summary>
public sealed partial class Host
{
    /// <summary>A new empty context whose root comes from <paramref name="pool"/>; null when out of domain-ids or pages.</summary>
    internal IommuContext? TryNewContext(ushort number, ContextKind kind, TablePool pool)
    {
        if (!DomainIds.TryAllocate(out var did))
        {
            return null;
        }

        if (ContextTables.TryCreate(Hardware.Format, Levels, pool, _pteTally) is not { } table)
        {
            DomainIds.Free(did);
            return null;
        }

        return new IommuContext(number, did, table, kind);
    }

    /// <summary>
    /// Maps a machine-contiguous run of the domain's RAM, taking one page reference per frame;
    /// on failure the frames not mapped hold no reference.
    /// </summary>
    internal PtStatus MapRam(IommuContext context, ulong dfn, Mfn mfn, ulong count, PteAccess access, out ulong done)
    {
        for (ulong i = 0; i < count; i++)
        {
            if (!Frames.TryGetRef(mfn + i))
            {
                throw new InvalidOperationException($"{mfn + i} is not allocated RAM");
            }
        }

        var status = context.Table.Map(dfn, mfn.Value, count, access, MaxLeafLevel, out done);
        for (var i = done; i < count; i++)
        {
            Frames.PutRef(mfn + i);
        }

        return status;
    }

    /// <summary>
    /// Unmaps frames. The references they held are dropped at once, or, with
    /// <paramref name="deferredPuts"/>, collected there for the caller to drop after the
    /// invalidation (what the sub-op handlers do).
    /// </summary>
    internal PtStatus UnmapFrames(IommuContext context, ulong dfn, ulong count, out ulong done, List<Mfn>? deferredPuts = null)
    {
        var dropper = new RefDropper(Frames, deferredPuts);
        return context.Table.Unmap(dfn, count, ref dropper, out done);
    }

    /// <summary>Drops references collected by an unmap, after the invalidation that covers them.</summary>
    internal void PutRefs(List<Mfn> frames)
    {
        foreach (var mfn in frames)
        {
            Frames.PutRef(mfn);
        }

        frames.Clear();
    }

    /// <summary>
    /// Removes every mapping, invalidates the context's IOTLB entries, then drops the page
    /// references and returns its tables to their pool.
    /// </summary>
    internal void DestroyContext(IommuContext context)
    {
        var puts = new List<Mfn>();
        var dropper = new RefDropper(Frames, puts);
        context.Table.Destroy(ref dropper);
        Hardware.FlushDomain(context.HardwareDomainId);
        DomainIds.Free(context.HardwareDomainId);
        PutRefs(puts);
    }

    /// <summary>
    /// Builds the domain's context 0 as spec §5 says for its kind, with tables from a pool taken
    /// from the heap (Xen's memory, not the arena).
    /// </summary>
    private XenErrno? BuildDefaultContext(Domain domain)
    {
        var kind = domain.IsDomIo || domain.Config.NoDma
            ? ContextKind.DefaultBlocked
            : domain.Kind == DomainKind.Pv ? ContextKind.DefaultIdentity : ContextKind.DefaultShared;
        var frames = kind == ContextKind.DefaultBlocked
            ? 0UL
            : domain.Config.MemoryFrames + (ulong)domain.Config.Mmio.Sum(m => (long)m.Frames);

        // Enough 4 KiB-leaf tables for all of it (superpages need fewer), plus room to grow.
        var pages = 32 + (2 * frames / PageLevel.Entries) + (frames / (PageLevel.Entries * PageLevel.Entries));
        if (!Heap.TryAllocateContiguous(pages, 1, out var first))
        {
            return XenErrno.ENOMEM;
        }

        var pool = new TablePool(Machine.Memory, first, (int)pages);
        if (TryNewContext(0, kind, pool) is not { } context)
        {
            Heap.Free(first, pages);
            return XenErrno.ENOMEM;
        }

        domain.Iommu.Default = context;
        domain.Iommu.DefaultPool = pool;
        if (kind == ContextKind.DefaultBlocked)
        {
            return null;
        }

        foreach (var (gfn, mfn, count, type) in Runs(domain.P2m))
        {
            var dfn = kind == ContextKind.DefaultIdentity ? mfn.Value : gfn;
            var status = P2m.IsRam(type)
                ? MapRam(context, dfn, mfn, count, AccessOf(type), out _)
                : context.Table.Map(dfn, mfn.Value, count, PteAccess.ReadWrite, MaxLeafLevel, out _);
            if (status != PtStatus.Ok)
            {
                return XenErrno.ENOMEM;
            }
        }

        return null;
    }

    /// <summary>Device access a p2m type allows.</summary>
    internal static PteAccess AccessOf(P2mType type) => type == P2mType.RamReadOnly ? PteAccess.Read : PteAccess.ReadWrite;

    /// <summary>The p2m as runs contiguous in both gfn and mfn, of one type.</summary>
    internal static IEnumerable<(ulong Gfn, Mfn Mfn, ulong Count, P2mType Type)> Runs(P2m p2m)
    {
        (ulong Gfn, Mfn Mfn, ulong Count, P2mType Type)? run = null;
        foreach (var (gfn, entry) in p2m.Entries())
        {
            if (run is { } r && r.Gfn + r.Count == gfn && r.Mfn + r.Count == entry.Mfn && r.Type == entry.Type)
            {
                run = r with { Count = r.Count + 1 };
                continue;
            }

            if (run is { } done)
            {
                yield return done;
            }

            run = (gfn, entry.Mfn, 1, entry.Type);
        }

        if (run is { } last)
        {
            yield return last;
        }
    }

    /// <summary>
    /// Moves <paramref name="device"/> into <paramref name="target"/> of <paramref name="owner"/>:
    /// its reserved regions are mapped 1:1 there first, then the hardware is pointed at the new
    /// table (context cache and the old domain-id's IOTLB invalidated), then the regions no other
    /// device of the old context needs are removed from it. All or nothing.
    /// </summary>
    internal XenErrno? MoveDevice(Sbdf device, Domain owner, IommuContext target)
    {
        var binding = _devices[device];
        var old = binding.Context;
        if (ReferenceEquals(old, target))
        {
            binding.Owner = owner;
            return null;
        }

        var regions = Machine.Topology.Get(device).ReservedRegions;
        for (var i = 0; i < regions.Count; i++)
        {
            if (target.AddReservedUse(regions[i]) && MapReserved(target, regions[i]) is { } error)
            {
                for (var j = i; j >= 0; j--)
                {
                    if (target.RemoveReservedUse(regions[j]) && j < i)
                    {
                        UnmapReserved(target, regions[j]);
                    }
                }

                return error;
            }
        }

        Hardware.Program(device, Platform.Iommu.DeviceContext.Translated(target.HardwareDomainId, target.Table.Root, Levels), old.HardwareDomainId);
        foreach (var region in regions)
        {
            if (old.RemoveReservedUse(region))
            {
                UnmapReserved(old, region);
            }
        }

        old.Devices.Remove(device);
        target.Devices.Add(device);
        binding.Context = target;
        binding.Owner = owner;
        return null;
    }

    private XenErrno? MapReserved(IommuContext context, ReservedRegion region)
    {
        var status = context.Table.Map(region.Start.Value, region.Start.Value, region.Frames, PteAccess.ReadWrite, MaxLeafLevel, out var done);
        if (status == PtStatus.Ok)
        {
            return null;
        }

        UnmapFrames(context, region.Start.Value, done, out _);
        return status == PtStatus.NoMemory ? XenErrno.ENOMEM : XenErrno.EADDRINUSE;
    }

    private void UnmapReserved(IommuContext context, ReservedRegion region)
    {
        if (UnmapFrames(context, region.Start.Value, region.Frames, out _) != PtStatus.Ok)
        {
            throw new InvalidOperationException($"reserved region {region} was not fully mapped in {context}");
        }

        Hardware.FlushPages(context.HardwareDomainId, region.Start.Value, region.Frames);
    }
}
