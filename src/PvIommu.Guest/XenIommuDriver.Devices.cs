using PvIommu.Abi;
using PvIommu.Abi.Structs;

namespace PvIommu.Guest;

/// <summary>Domains and devices: domain_alloc_paging, attach_dev, release_device, get_resv_regions.</summary>
public sealed partial class XenIommuDriver
{
    /// <summary>
    /// <c>domain_alloc_paging</c>: a new, empty context (alloc_context with no flags).
    /// </summary>
    /// <returns>0; -ENODEV in fallback mode; the hypervisor's -ENOSPC (no context left) or -ENOMEM.</returns>
    public int AllocPagingDomain(out PagingDomain? domain)
    {
        domain = null;
        if (!IsAvailable)
        {
            return XenErrno.ENODEV.ToReturnValue();
        }

        var alloc = new Alloc { AllocFlags = AllocFlags.None };
        var ret = _ops.Call(SubOp.AllocContext, ref alloc);
        if (ret == 0)
        {
            domain = new PagingDomain(this, alloc.CtxNo);
        }

        return ret;
    }

    /// <summary>The domain <paramref name="device"/> is attached to; null for a device not in the platform description.</summary>
    public IommuDomain? DomainOf(PciAddress device) => _attached.GetValueOrDefault(device);

    /// <summary>The platform description of <paramref name="device"/>, if it has one.</summary>
    public DeviceInfo? FindDevice(PciAddress device) => _devices.GetValueOrDefault(device);

    /// <summary>
    /// <c>attach_dev</c>: moves <paramref name="device"/> (and its phantom functions, which Xen
    /// moves with it) into <paramref name="domain"/>'s context with reattach_device. All or
    /// nothing: on an error the device stays where it was.
    /// </summary>
    /// <returns>0; -ENODEV for a device outside the platform description; -EINVAL for a freed domain; the hypervisor's error.</returns>
    /// <exception cref="ArgumentException"><paramref name="domain"/> belongs to another driver.</exception>
    public int Attach(PciAddress device, IommuDomain domain)
    {
        ArgumentNullException.ThrowIfNull(domain);
        if (domain.Driver != this)
        {
            throw new ArgumentException("the domain belongs to another driver", nameof(domain));
        }

        if (!_attached.TryGetValue(device, out var current))
        {
            return XenErrno.ENODEV.ToReturnValue();
        }

        if (domain is PagingDomain { IsFreed: true })
        {
            return XenErrno.EINVAL.ToReturnValue();
        }

        if (current == domain || !IsAvailable)
        {
            // In fallback mode the only domain is the identity one and the device is already there.
            return 0;
        }

        var op = new ReattachDevice { CtxNo = domain.ContextNo, Dev = device.ToAbi(), Pasid = 0 };
        var ret = _ops.Call(SubOp.ReattachDevice, ref op);
        if (ret == 0)
        {
            current.DeviceSet.Remove(device);
            domain.DeviceSet.Add(device);
            _attached[device] = domain;
        }

        return ret;
    }

    /// <summary><c>release_device</c>: puts <paramref name="device"/> back into context 0.</summary>
    /// <returns>0 or the error of <see cref="Attach"/>.</returns>
    public int Release(PciAddress device) => Attach(device, IdentityDomain);

    /// <summary>
    /// <c>get_resv_regions</c>: the MSI window, then the device's firmware regions from the
    /// platform description. The IOVA allocator and the VFIO container keep all of them out.
    /// </summary>
    public IReadOnlyList<ReservedRange> ReservedRegions(PciAddress device)
    {
        var regions = new List<ReservedRange> { ReservedRange.MsiWindow };
        if (_devices.TryGetValue(device, out var info))
        {
            regions.AddRange(info.Reserved);
        }

        return regions;
    }
}
