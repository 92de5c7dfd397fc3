using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Hypervisor.Domains;
using PvIommu.Platform.PageTables;
using PvIommu.Platform.Pci;

namespace PvIommu.Hypervisor.Tests.Model;

/// <summary>
/// The reference model of spec §3 for two domains: plain dictionaries and <see cref="ModelTable"/>s,
/// no code shared with the hypervisor. Each method predicts one sub-op's errno and OUT struct
/// and applies its effect. Only the booted state is read from the host (its p2m, its context-0
/// leaves and pool sizes, where devices sit), and the machine frames a balloon-in received: which
/// free frames the heap hands out is Xen's choice, not a rule of the spec.
/// </summary>
internal sealed partial class PvIommuModel
{
    private readonly Dictionary<Sbdf, IReadOnlyList<ReservedRegion>> _regions;

    private PvIommuModel(Host host, Dictionary<Sbdf, IReadOnlyList<ReservedRegion>> regions, ModelDomain[] domains)
    {
        _regions = regions;
        Domains = domains;
        Levels = host.Levels;
        MaxDfn = host.MaxIovaAddress >> 12;
    }

    public int Levels { get; }

    public ulong MaxDfn { get; }

    /// <summary>dom0 and the DomU, by domid.</summary>
    public ModelDomain[] Domains { get; }

    /// <summary>Where each device is: owner and context number.</summary>
    public Dictionary<Sbdf, (ushort Dom, ushort Ctx)> DeviceCtx { get; } = [];

    /// <summary>Builds the model of a freshly booted host (dom0 and domain 1, nothing initialised).</summary>
    public static PvIommuModel FromHost(Host host, IEnumerable<Sbdf> devices)
    {
        var regions = devices.ToDictionary(d => d, d => host.Machine.Topology.Get(d).ReservedRegions);
        var domains = new[] { Boot(host, host.GetDomain(0)), Boot(host, host.GetDomain(1)) };
        var model = new PvIommuModel(host, regions, domains);
        foreach (var device in regions.Keys)
        {
            var (owner, context) = host.DeviceState(device)!.Value;
            model.DeviceCtx[device] = (owner.Id, context.Number);
            domains[owner.Id].Context(context.Number)!.Devices.Add(device);
        }

        return model;
    }

    private static ModelDomain Boot(Host host, Domain domain)
    {
        var iommu = domain.Iommu;
        var isPv = domain.Kind == DomainKind.Pv;
        var table = new ModelTable(host.Levels);
        var cursor = 0UL;
        while (iommu.Default!.Table.TryNextMapped(cursor, out var dfn, out var leaf))
        {
            // lookup_page's gfn: PV gfn = mfn; PVH context 0 is dfn = gfn.
            table.Adopt(dfn, new ModelLeaf(leaf.Level, leaf.Mfn, isPv ? leaf.Mfn : dfn, leaf.Access));
            cursor = dfn + PageLevel.Frames(leaf.Level);
        }

        var model = new ModelDomain(domain.Id, isPv)
        {
            Default = new ModelContext(0, ModelContextKind.Default, table),
            DefaultPoolCapacity = iommu.DefaultPool!.Capacity,
        };
        foreach (var (gfn, entry) in domain.P2m.Entries())
        {
            if (P2m.IsRam(entry.Type))
            {
                model.Ram[gfn] = entry.Mfn.Value;
            }
            else if (entry.Type == P2mType.Mmio)
            {
                model.Mmio[gfn] = entry.Mfn.Value;
            }
        }

        model.RamFirst = model.Ram.Keys.First();
        model.RamFrames = (ulong)model.Ram.Count;
        return model;
    }

    /// <summary>query_capabilities (spec §3): max_ctx_no is 0 until init.</summary>
    public Capabilities Query(ModelDomain d, ulong maxIova) => new()
    {
        MaxIovaAddr = maxIova,
        CapFlags = CapFlags.DefaultIdentity | CapFlags.Cache | CapFlags.Identity | CapFlags.DeferredFlush | CapFlags.Lookup,
        PgsizeMask = PageSizes.SupportedMask,
        MaxPasid = 0,
        MaxCtxNo = d.Initialised ? d.MaxCtx : (ushort)0,
    };

    /// <summary>init (spec §3): one-shot; limits checked; a failed init changes nothing.</summary>
    public XenErrno? Init(ModelDomain d, Init init)
    {
        if (d.Initialised)
        {
            return XenErrno.EACCES;
        }

        if (init.MaxCtxNo is < 1 or > 65534 || init.ArenaOrder > 20)
        {
            return XenErrno.E2BIG;
        }

        d.Initialised = true;
        d.MaxCtx = (ushort)init.MaxCtxNo;
        d.ArenaCapacity = 1 << (int)init.ArenaOrder;
        return null;
    }

    /// <summary>alloc_context (spec §3): lowest free number, one arena page, identity maps all RAM.</summary>
    public XenErrno? Alloc(ModelDomain d, ref Alloc alloc)
    {
        if ((alloc.AllocFlags & ~AllocFlags.Identity) != 0)
        {
            return XenErrno.EINVAL;
        }

        var number = (ushort)0;
        for (ushort n = 1; d.Initialised && n <= d.MaxCtx; n++)
        {
            if (!d.Contexts.ContainsKey(n))
            {
                number = n;
                break;
            }
        }

        if (number == 0)
        {
            return XenErrno.ENOSPC;
        }

        var free = d.ArenaFree - 1;
        if (free < 0)
        {
            return XenErrno.ENOMEM;
        }

        var identity = (alloc.AllocFlags & AllocFlags.Identity) != 0;
        var table = new ModelTable(Levels);
        if (identity)
        {
            foreach (var (gfn, mfn, count) in d.RamRuns())
            {
                if (table.MapRun(gfn, mfn, gfn, count, PteAccess.ReadWrite, ref free).Status != PtStatus.Ok)
                {
                    return XenErrno.ENOMEM;
                }
            }
        }

        d.Contexts[number] = new ModelContext(number, identity ? ModelContextKind.Identity : ModelContextKind.Paging, table);
        alloc.CtxNo = number;
        return null;
    }

    /// <summary>free_context (spec §3).</summary>
    public XenErrno? Free(ModelDomain d, Free free)
    {
        if ((free.FreeFlags & ~FreeFlags.ReattachDefault) != 0 || free.CtxNo == 0)
        {
            return XenErrno.EINVAL;
        }

        if (d.Contexts.GetValueOrDefault(free.CtxNo) is not { } context)
        {
            return XenErrno.ENOENT;
        }

        if (context.Devices.Count > 0 && (free.FreeFlags & FreeFlags.ReattachDefault) == 0)
        {
            return XenErrno.EBUSY;
        }

        // All or nothing (spec §3, §6): a device that cannot move undoes the moves before it.
        var (defaultTable, table, devices) = (d.Default.Table.Clone(), context.Table.Clone(), context.Devices.ToList());
        foreach (var device in devices)
        {
            if (MoveDevice(d, device, d.Default) is { } error)
            {
                (d.Default.Table, context.Table) = (defaultTable, table);
                d.Default.Devices.ExceptWith(devices);
                context.Devices.UnionWith(devices);
                devices.ForEach(dev => DeviceCtx[dev] = (d.Id, context.Number));
                return error;
            }
        }

        d.Contexts.Remove(free.CtxNo);
        return null;
    }

    /// <summary>reattach_device (spec §3): all or nothing; reserved regions follow the device.</summary>
    public XenErrno? Reattach(ModelDomain d, ReattachDevice op)
    {
        if (op.Pasid != 0)
        {
            return XenErrno.EINVAL;
        }

        var device = Sbdf.FromDevFn(op.Dev.Seg, op.Dev.Bus, op.Dev.DevFn);
        if (!DeviceCtx.TryGetValue(device, out var where) || where.Dom != d.Id)
        {
            return XenErrno.ENODEV;
        }

        return d.Context(op.CtxNo) is { } target ? MoveDevice(d, device, target) : XenErrno.ENOENT;
    }

    /// <summary>The reserved regions a context holds 1:1: those of its devices.</summary>
    public IEnumerable<ReservedRegion> ReservedOf(ModelContext context) =>
        context.Devices.SelectMany(dev => _regions[dev]).Distinct();

    /// <summary>The first reserved frame of the context in [dfn, dfn + count), as an index from dfn.</summary>
    public ulong FirstReservedIndex(ModelContext context, ulong dfn, ulong count)
    {
        var first = ulong.MaxValue;
        foreach (var region in ReservedOf(context))
        {
            var start = region.Start.Value;
            if (start < dfn + count && dfn < start + region.Frames)
            {
                first = Math.Min(first, Math.Max(start, dfn) - dfn);
            }
        }

        return first;
    }

    private int PoolFree(ModelDomain d, ModelContext context) => context.Number == 0 ? d.DefaultPoolFree : d.ArenaFree;

    private XenErrno? MoveDevice(ModelDomain d, Sbdf device, ModelContext target)
    {
        var old = d.Context(DeviceCtx[device].Ctx)!;
        if (ReferenceEquals(old, target))
        {
            return null;
        }

        var table = target.Table.Clone();
        var free = PoolFree(d, target);
        var held = ReservedOf(target).ToHashSet();
        foreach (var region in _regions[device].Where(r => !held.Contains(r)))
        {
            var start = region.Start.Value;
            var status = table.MapRun(start, start, start, region.Frames, PteAccess.ReadWrite, ref free).Status;
            if (status != PtStatus.Ok)
            {
                return status == PtStatus.NoMemory ? XenErrno.ENOMEM : XenErrno.EADDRINUSE;
            }
        }

        target.Table = table;
        old.Devices.Remove(device);
        var stillHeld = ReservedOf(old).ToHashSet();
        foreach (var region in _regions[device].Where(r => !stillHeld.Contains(r)))
        {
            var unlimited = int.MaxValue;
            if (old.Table.UnmapRange(region.Start.Value, region.Frames, ref unlimited).Status != PtStatus.Ok)
            {
                throw new InvalidOperationException($"model: {region} was not mapped in ctx {old.Number}");
            }
        }

        target.Devices.Add(device);
        DeviceCtx[device] = (d.Id, target.Number);
        return null;
    }
}
