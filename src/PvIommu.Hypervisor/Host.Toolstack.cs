using PvIommu.Abi;
using PvIommu.Hypervisor.Domains;
using PvIommu.Hypervisor.Toolstack;
using PvIommu.Platform.Memory;
using PvIommu.Platform.Pci;

namespace PvIommu.Hypervisor;

/// <summary>The toolstack API: what <c>xl</c> and libxl ask of Xen.</summary>
public sealed partial class Host
{
    /// <summary>
    /// Creates the hardware domain (domid 0). At boot it owns every PCI endpoint: each goes into
    /// its context 0 with its reserved regions mapped 1:1.
    /// </summary>
    public ToolstackResult CreateHardwareDomain(DomainConfig config, out Domain? domain)
    {
        lock (_toolstack)
        {
            domain = null;
            if (HardwareDomain is not null)
            {
                return ToolstackResult.Fail(XenErrno.EBUSY, "the hardware domain exists already");
            }

            var result = Build(0, config, isHardwareDomain: true, out domain);
            if (!result.IsOk)
            {
                return result;
            }

            HardwareDomain = domain!;
            if (domain!.Iommu.Default is { } ctx0)
            {
                foreach (var function in Machine.Topology.Functions.Where(f => !f.IsBridge))
                {
                    if (MoveDevice(function.Sbdf, domain, ctx0) is { } error)
                    {
                        return ToolstackResult.Fail(error, $"cannot place {function.Sbdf} in dom0's context 0");
                    }

                    DomIo.Devices.Remove(function.Sbdf);
                    domain.Devices.Add(function.Sbdf);
                }
            }

            return ToolstackResult.Ok;
        }
    }

    /// <summary>Creates a domain with the lowest free domid from 1.</summary>
    public ToolstackResult CreateDomain(DomainConfig config, out Domain? domain)
    {
        lock (_toolstack)
        {
            domain = null;
            ushort id = 1;
            while (_domains.ContainsKey(id))
            {
                id++;
            }

            return Build(id, config, isHardwareDomain: false, out domain);
        }
    }

    private ToolstackResult Build(ushort id, DomainConfig config, bool isHardwareDomain, out Domain? domain)
    {
        domain = new Domain(id, config, isHardwareDomain, isDomIo: false);
        if (!Heap.TryAllocate(config.MemoryFrames, out var extents))
        {
            domain = null;
            return ToolstackResult.Fail(XenErrno.ENOMEM, $"the host has {Heap.FreeFrames} free frames, {config.MemoryFrames} asked");
        }

        ulong gfn = 0;
        foreach (var (first, count) in extents)
        {
            for (ulong i = 0; i < count; i++, gfn++)
            {
                var g = config.Kind == DomainKind.Pv ? first.Value + i : gfn;
                Frames.Assign(first + i, id, g);
                domain.P2m.Set(g, new P2mEntry(first + i, P2mType.Ram));
            }
        }

        foreach (var (mfn, frames, mmioGfn) in config.Mmio)
        {
            for (ulong i = 0; i < frames; i++)
            {
                var g = config.Kind == DomainKind.Pv ? mfn + i : mmioGfn + i;
                domain.P2m.Set(g, new P2mEntry(new Mfn(mfn + i), P2mType.Mmio));
            }
        }

        _domains[id] = domain;
        if (HasIommu && config.IommuEnabled && BuildDefaultContext(domain) is { } error)
        {
            TearDown(domain);
            domain = null;
            return ToolstackResult.Fail(error, "no memory for the default context's page tables");
        }

        return ToolstackResult.Ok;
    }

    /// <summary>
    /// Destroys a domain: its devices go to dom_io's context 0 (quarantine), every context is
    /// freed, the arena returns to the heap and its RAM is released (frames still mapped by
    /// another domain stay allocated until that mapping goes).
    /// </summary>
    public ToolstackResult DestroyDomain(ushort id)
    {
        lock (_toolstack)
        {
            if (FindDomain(id) is not { } domain || domain.IsHardwareDomain)
            {
                return ToolstackResult.Fail(XenErrno.ENOENT, $"no destroyable domain {id}");
            }

            lock (domain.Lock)
            {
                foreach (var device in domain.Devices.ToList())
                {
                    Quarantine(domain, device);
                }

                TearDown(domain);
            }

            return ToolstackResult.Ok;
        }
    }

    private void TearDown(Domain domain)
    {
        domain.IsDying = true;

        // A stub domain loses its rights with its target: the domid may be reused.
        foreach (var other in _domains.Values.Where(d => d.DeviceModelTarget == domain.Id))
        {
            other.DeviceModelTarget = null;
        }

        foreach (var context in domain.Iommu.GuestContexts.ToList())
        {
            DestroyContext(context);
        }

        if (domain.Iommu.ReleaseArena() is { } arena)
        {
            Heap.Free(arena.First, (ulong)arena.Pages);
        }

        if (domain.Iommu.Default is { } ctx0)
        {
            DestroyContext(ctx0);
            var pool = domain.Iommu.DefaultPool!;
            Heap.Free(pool.First, (ulong)pool.Capacity);
            domain.Iommu.Default = null;
        }

        foreach (var (gfn, entry) in domain.P2m.Entries().ToList())
        {
            domain.P2m.Remove(gfn);
            if (P2m.IsRam(entry.Type))
            {
                Frames.PutRef(entry.Mfn);
            }
        }

        _domains.TryRemove(domain.Id, out _);
    }

    /// <summary>Makes a device of the hardware domain assignable: it moves to dom_io (quarantine).</summary>
    public ToolstackResult MakeAssignable(Sbdf device)
    {
        lock (_toolstack)
        {
            if (DeviceState(device) is not { } state || !state.Owner.IsHardwareDomain)
            {
                return ToolstackResult.Fail(XenErrno.ENODEV, $"{device} is not a device of the hardware domain");
            }

            lock (state.Owner.Lock)
            {
                return Quarantine(state.Owner, device) is { } error
                    ? ToolstackResult.Fail(error, $"cannot quarantine {device}")
                    : ToolstackResult.Ok;
            }
        }
    }

    /// <summary>Assigns a quarantined device to a domain: it lands in the domain's context 0.</summary>
    public ToolstackResult AssignDevice(Sbdf device, ushort domid)
    {
        lock (_toolstack)
        {
            if (FindDomain(domid) is not { } domain)
            {
                return ToolstackResult.Fail(XenErrno.ENOENT, $"no domain {domid}");
            }

            if (DeviceState(device) is not { } state || !state.Owner.IsDomIo)
            {
                return ToolstackResult.Fail(XenErrno.EBUSY, $"{device} is not assignable (make it assignable first)");
            }

            if (domain.Iommu.Default is not { } ctx0)
            {
                return ToolstackResult.Fail(XenErrno.ENODEV, $"{domain} has no IOMMU");
            }

            lock (domain.Lock)
            {
                if (MoveDevice(device, domain, ctx0) is { } error)
                {
                    return ToolstackResult.Fail(error, $"cannot map {device}'s reserved regions into {domain}'s context 0");
                }

                DomIo.Devices.Remove(device);
                domain.Devices.Add(device);
                return ToolstackResult.Ok;
            }
        }
    }

    /// <summary>Takes a device from its domain back to quarantine (hot-unplug).</summary>
    public ToolstackResult DeassignDevice(Sbdf device)
    {
        lock (_toolstack)
        {
            if (DeviceState(device) is not { } state || state.Owner.IsDomIo)
            {
                return ToolstackResult.Fail(XenErrno.ENODEV, $"{device} is not assigned");
            }

            lock (state.Owner.Lock)
            {
                return Quarantine(state.Owner, device) is { } error
                    ? ToolstackResult.Fail(error, $"cannot quarantine {device}")
                    : ToolstackResult.Ok;
            }
        }
    }

    private XenErrno? Quarantine(Domain owner, Sbdf device)
    {
        var error = MoveDevice(device, DomIo, DomIo.Iommu.Default!);
        if (error is null)
        {
            owner.Devices.Remove(device);
            DomIo.Devices.Add(device);
        }

        return error;
    }

    /// <summary>Sets a domain's <c>pv_iommu</c> policy (spec §1.1).</summary>
    public ToolstackResult SetPvIommu(ushort domid, PvIommuPolicy policy)
    {
        if (FindDomain(domid) is not { } domain)
        {
            return ToolstackResult.Fail(XenErrno.ENOENT, $"no domain {domid}");
        }

        domain.Policy = policy;
        return ToolstackResult.Ok;
    }

    /// <summary>Names <paramref name="deviceModel"/> the device model (stub domain) of <paramref name="target"/>.</summary>
    public ToolstackResult SetDeviceModel(ushort deviceModel, ushort target)
    {
        if (FindDomain(deviceModel) is not { } dm || FindDomain(target) is null)
        {
            return ToolstackResult.Fail(XenErrno.ENOENT, $"no domain {deviceModel} or {target}");
        }

        dm.DeviceModelTarget = target;
        return ToolstackResult.Ok;
    }
}
