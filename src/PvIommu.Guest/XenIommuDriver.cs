using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Guest.Hypercalls;

namespace PvIommu.Guest;

/// <summary>
/// The Dom0 (or DomU) PV-IOMMU driver, shaped like Linux's <c>drivers/iommu/xen-iommu.c</c>:
/// probe and init, a static identity domain (context 0), paging domains (one context each),
/// attach through reattach_device, and each device's reserved regions. It reaches the
/// hypervisor only through <see cref="IHypercallChannel"/>.
/// </summary>
/// <remarks>
/// Without a usable PV-IOMMU the driver stays alive in fallback mode: <see cref="IsAvailable"/>
/// is false, devices stay in context 0, paging domains cannot be made, and the DMA API maps
/// directly (dma address = guest address), reported as unprotected. Not thread-safe: one
/// caller at a time, as a simulation drives it.
/// </remarks>
public sealed partial class XenIommuDriver
{
    private readonly IommuOps _ops;
    private readonly Dictionary<PciAddress, DeviceInfo> _devices = [];
    private readonly Dictionary<PciAddress, IommuDomain> _attached = [];

    private XenIommuDriver(IHypercallChannel channel, IEnumerable<DeviceInfo> devices, XenIommuOptions options)
    {
        _ops = new IommuOps(channel, new DriverStats());
        Options = options;
        IdentityDomain = new IdentityDomain(this);
        foreach (var device in devices)
        {
            _devices.Add(device.Address, device);
            _attached.Add(device.Address, IdentityDomain);
            IdentityDomain.DeviceSet.Add(device.Address);
        }
    }

    /// <summary>The knobs it was probed with.</summary>
    public XenIommuOptions Options { get; }

    /// <summary>Whether PV-IOMMU contexts are usable: false means fallback to direct, unprotected DMA.</summary>
    public bool IsAvailable { get; private set; }

    /// <summary>Where probing stopped (<see cref="ProbeStage.None"/> when available).</summary>
    public ProbeStage FailedStage { get; private set; }

    /// <summary>0, or the negative Xen errno that made probing fall back.</summary>
    public int ProbeError { get; private set; }

    /// <summary>Whether this driver's init call set the domain's limits (false: someone else did, or it failed).</summary>
    public bool InitialisedHere { get; private set; }

    /// <summary>The capabilities last read (all zero when query_capabilities failed).</summary>
    public Capabilities Capabilities { get; private set; }

    /// <summary>Context 0, where every device starts and where release puts it back.</summary>
    public IdentityDomain IdentityDomain { get; }

    /// <summary>The devices of the platform description.</summary>
    public IEnumerable<DeviceInfo> Devices => _devices.Values;

    /// <summary>What the driver asked of the hypervisor so far.</summary>
    public DriverCounters Counters => _ops.Stats.Snapshot();

    /// <summary>Hypercall traps so far (a multicall is one): <see cref="DriverCounters.Traps"/> without a snapshot.</summary>
    public long Traps => _ops.Stats.Traps;

    /// <summary>iommu_op entries issued so far: <see cref="DriverCounters.IommuOps"/> without a snapshot.</summary>
    public long IommuOps => _ops.Stats.IommuOps;

    internal IommuOps Ops => _ops;

    /// <summary>
    /// Probes PV-IOMMU as Linux does at boot (research §4.2): query capabilities; when
    /// <c>max_ctx_no</c> is 0, init with <see cref="XenIommuOptions.MaxContexts"/> and
    /// <see cref="XenIommuOptions.ArenaOrder"/> and query again. Any failure leaves a driver in
    /// fallback mode that says why; nothing throws for what the hypervisor answers.
    /// </summary>
    /// <param name="channel">The hypercall path of the calling domain.</param>
    /// <param name="devices">The platform description: the PCI devices this domain drives.</param>
    /// <param name="options">Init limits and mapping knobs.</param>
    public static XenIommuDriver Probe(IHypercallChannel channel, IEnumerable<DeviceInfo> devices, XenIommuOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentNullException.ThrowIfNull(devices);
        var driver = new XenIommuDriver(channel, devices, options ?? new XenIommuOptions());
        driver.RunProbe();
        return driver;
    }

    /// <summary>One line for a boot log: what the driver found and what DMA protection follows.</summary>
    public string Describe()
    {
        if (!IsAvailable)
        {
            return $"xen-iommu: PV-IOMMU unavailable ({FailedStage}: {XenErrnos.Describe(ProbeError)}); DMA is direct and unprotected";
        }

        var caps = Capabilities;
        return $"xen-iommu: {caps.MaxCtxNo} contexts, max IOVA {caps.MaxIovaAddr:x}, pgsize mask {caps.PgsizeMask:x}, caps {caps.CapFlags}"
            + (InitialisedHere ? $" (initialised: arena order {Options.ArenaOrder})" : string.Empty);
    }

    /// <summary>Whether the hypervisor offers <paramref name="flag"/>.</summary>
    public bool Has(CapFlags flag) => IsAvailable && (Capabilities.CapFlags & flag) == flag;

    private void RunProbe()
    {
        var caps = default(Capabilities);
        var ret = _ops.Call(SubOp.QueryCapabilities, ref caps);
        if (ret != 0)
        {
            Fail(ProbeStage.Query, ret);
            return;
        }

        Capabilities = caps;
        if (caps.MaxCtxNo == 0)
        {
            var init = new Init { MaxCtxNo = Options.MaxContexts, ArenaOrder = Options.ArenaOrder };
            ret = _ops.Call(SubOp.Init, ref init);
            if (ret != 0)
            {
                // -EACCES: initialised already and we may not touch it; -EPERM: a DomU without the right.
                Fail(ProbeStage.Init, ret);
                return;
            }

            InitialisedHere = true;
            ret = _ops.Call(SubOp.QueryCapabilities, ref caps);
            if (ret != 0)
            {
                Fail(ProbeStage.Query, ret);
                return;
            }

            Capabilities = caps;
        }

        if (caps.MaxCtxNo == 0)
        {
            Fail(ProbeStage.NoContexts, XenErrno.EOPNOTSUPP.ToReturnValue());
            return;
        }

        IsAvailable = true;
    }

    private void Fail(ProbeStage stage, int ret)
    {
        FailedStage = stage;
        ProbeError = ret;
        IsAvailable = false;
    }
}
