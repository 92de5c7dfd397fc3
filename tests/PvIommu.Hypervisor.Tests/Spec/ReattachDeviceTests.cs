using PvIommu.Abi;
using PvIommu.Hypervisor.Tests.Support;
using PvIommu.Hypervisor.Toolstack;
using PvIommu.Platform.Memory;
using PvIommu.Platform.Pci;
using static PvIommu.Hypervisor.Tests.Support.Hosts;

namespace PvIommu.Hypervisor.Tests.Spec;

/// <summary>Spec §3 reattach_device (5).</summary>
public class ReattachDeviceTests
{
    [Fact]
    public void Reattach_ToAllocatedContext_DeviceTranslatesThroughIt()
    {
        // §3 reattach: moves the device into ctx_no.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        dom0.MapOk(ctx, dom0.FirstRamGfn + 7, 0x4000, 1);
        var contextInvalidations = host.Counters.ContextInvalidations;
        Assert.Equal(0, dom0.Reattach(ctx, DefaultHost.Nic));
        Assert.True(host.Counters.ContextInvalidations > contextInvalidations);
        var state = host.DeviceState(DefaultHost.Nic)!.Value;
        Assert.Same(dom0.Domain, state.Owner);
        Assert.Same(dom0.Ctx(ctx), state.Context);
        Assert.Contains(DefaultHost.Nic, dom0.Ctx(ctx).Devices);
        Assert.DoesNotContain(DefaultHost.Nic, dom0.Ctx(0).Devices);
        Dma.AssertReaches(host, DefaultHost.Nic, 0x4000, new Mfn(dom0.FirstRamGfn + 7));
        Assert.Equal(0, dom0.Reattach(0, DefaultHost.Nic));
        host.AssertNoLeaks();
    }

    public static TheoryData<string> NotTheCallersDevices =>
    [
        "0000:01:00.0", // the DomU's NIC
        "0000:00:03.1", // a phantom function, not a device
        "0000:00:1c.0", // a bridge
        "0000:00:1f.0", // nothing there
        "0001:00:02.0", // a segment the host does not have
    ];

    [Theory]
    [MemberData(nameof(NotTheCallersDevices))]
    public void Reattach_DeviceNotAssignedToCaller_ReturnsENODEV_NothingChanges(string sbdf)
    {
        // §3 reattach: the device must be assigned to the caller, else -ENODEV.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        HostState.AssertUnchangedBy(host, () =>
        {
            Assert.Equal(Err(XenErrno.ENODEV), dom0.Reattach(ctx, Sbdf.Parse(sbdf)));
            Assert.Equal(Err(XenErrno.ENODEV), dom0.Reattach(0, Sbdf.Parse(sbdf)));
        });
        host.AssertNoLeaks();
    }

    [Fact]
    public void Reattach_QuarantinedDevice_ReturnsENODEV()
    {
        // §3 reattach + §5: a device made assignable belongs to dom_io, not to dom0.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        SpecHosts.Ok(host.MakeAssignable(DefaultHost.Nvme));
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.ENODEV), dom0.Reattach(ctx, DefaultHost.Nvme)));
        host.AssertNoLeaks();
    }

    [Theory]
    [InlineData((ushort)2)]
    [InlineData((ushort)4)]
    [InlineData((ushort)0xFFFF)]
    public void Reattach_ToUnallocatedContext_ReturnsENOENT_DeviceStays(ushort target)
    {
        // §3 reattach: target not allocated → -ENOENT, all or nothing.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        Assert.Equal(0, dom0.Init(4, 4));
        Assert.Equal(0, dom0.Alloc().Ret);
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.ENOENT), dom0.Reattach(target, DefaultHost.Gpu)));
        Dma.AssertReaches(host, DefaultHost.Gpu, DefaultHost.GpuRmrr.Start.Value, new Mfn(DefaultHost.GpuRmrr.Start.Value));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Reattach_ToCurrentContext_ReturnsZero_NoChange()
    {
        // §3 reattach: target already the device's context → 0, no change (no invalidation either).
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        Assert.Equal(0, dom0.Reattach(ctx, DefaultHost.Nic));
        var counters = host.Counters;
        HostState.AssertUnchangedBy(host, () => Assert.Equal(0, dom0.Reattach(ctx, DefaultHost.Nic)));
        Assert.Equal(counters.ContextInvalidations, host.Counters.ContextInvalidations);
        Assert.Equal(counters.IotlbInvalidations, host.Counters.IotlbInvalidations);
        Assert.Equal(0, dom0.Reattach(0, DefaultHost.Nic));
        HostState.AssertUnchangedBy(host, () => Assert.Equal(0, dom0.Reattach(0, DefaultHost.Nic)));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Reattach_ToContext0_AlwaysValid_EvenBeforeInit()
    {
        // §3 reattach: "Context 0 is always a valid target".
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        Assert.Equal(0, dom0.Reattach(0, DefaultHost.Gpu));
        Assert.False(dom0.Domain.Iommu.IsInitialised);
        Assert.Same(dom0.Ctx(0), host.DeviceState(DefaultHost.Gpu)!.Value.Context);
        host.AssertNoLeaks();
    }

    [Theory]
    [InlineData(1u)]
    [InlineData(0x8000_0000u)]
    public void Reattach_NonZeroPasid_ReturnsEINVAL_NothingChanges(uint pasid)
    {
        // §3 reattach: pasid must be 0 (no PASID capability).
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.EINVAL), dom0.Reattach(ctx, DefaultHost.Nic, pasid)));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Reattach_Gpu_ReservedRegionMappedInTarget_RemovedFromOld()
    {
        // §3 reattach: the device's reserved regions are mapped 1:1 into the target and removed from the old context.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        var rmrr = DefaultHost.GpuRmrr.Start.Value;
        Dma.AssertReaches(host, DefaultHost.Nic, rmrr, new Mfn(rmrr));
        Assert.Equal(0, dom0.Reattach(ctx, DefaultHost.Gpu));
        Assert.Contains(DefaultHost.GpuRmrr, dom0.Ctx(ctx).ReservedRegions.Keys);
        Assert.DoesNotContain(DefaultHost.GpuRmrr, dom0.Ctx(0).ReservedRegions.Keys);
        Assert.False(dom0.Ctx(0).Table.TryLookup(rmrr, out _));
        Dma.AssertFaults(host, DefaultHost.Nic, rmrr);
        Dma.AssertReaches(host, DefaultHost.Gpu, rmrr + 15, new Mfn(rmrr + 15));
        var (ret, look) = dom0.Lookup(ctx, rmrr + 1);
        Assert.Equal(0, ret);
        Assert.Equal(rmrr + 1, look.Gfn);
        Assert.Equal(0, dom0.Reattach(0, DefaultHost.Gpu));
        Assert.Empty(dom0.Ctx(ctx).ReservedRegions);
        Assert.Equal(0, dom0.Ctx(ctx).MappedFrames);
        Dma.AssertReaches(host, DefaultHost.Nic, rmrr, new Mfn(rmrr));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Reattach_BetweenContexts_NoStaleTranslationOfOldContext()
    {
        // §3 reattach: "no stale translation of the old context survives the call".
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        Assert.Equal(0, dom0.Init(4, 6));
        var a = dom0.Alloc().Ctx;
        var b = dom0.Alloc().Ctx;
        var gfn = dom0.FirstRamGfn;
        dom0.MapOk(a, gfn + 1, 0x1000, 1);
        dom0.MapOk(a, gfn + 2, 0x2000, 1);
        dom0.MapOk(b, gfn + 3, 0x2000, 1);
        Assert.Equal(0, dom0.Reattach(a, DefaultHost.Nic));
        Dma.AssertReaches(host, DefaultHost.Nic, 0x1000, new Mfn(gfn + 1));
        Dma.AssertReaches(host, DefaultHost.Nic, 0x2000, new Mfn(gfn + 2));
        Assert.Equal(0, dom0.Reattach(b, DefaultHost.Nic));
        Dma.AssertFaults(host, DefaultHost.Nic, 0x1000);
        Dma.AssertReaches(host, DefaultHost.Nic, 0x2000, new Mfn(gfn + 3));
        Assert.Equal(0, dom0.Reattach(0, DefaultHost.Nic));
        Dma.AssertFaults(host, DefaultHost.Nic, 0x2000);
        host.AssertNoLeaks();
    }

    [Fact]
    public void Reattach_Nvme_PhantomFunctionFollows()
    {
        // §3 reattach: the device "plus its phantom functions" moves.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        var phantom = DefaultHost.Nvme.WithFunction(1);
        dom0.MapOk(ctx, dom0.FirstRamGfn + 11, 0x6000, 1);
        Dma.AssertFaults(host, phantom, 0x6000);
        Assert.Equal(0, dom0.Reattach(ctx, DefaultHost.Nvme));
        Dma.AssertReaches(host, phantom, 0x6000, new Mfn(dom0.FirstRamGfn + 11));
        Dma.AssertReaches(host, DefaultHost.Nvme, 0x6000, new Mfn(dom0.FirstRamGfn + 11));
        Assert.Equal(0, dom0.Reattach(0, DefaultHost.Nvme));
        Dma.AssertFaults(host, phantom, 0x6000);
        host.AssertNoLeaks();
    }

    [Fact]
    public void Reattach_ReservedRegionCollidesWithTargetMapping_FailsAllOrNothing()
    {
        // §3 reattach: "All or nothing: on failure the device stays where it was" (the errno is this
        // implementation's choice, -EADDRINUSE: docs/conformance.md).
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        var rmrr = DefaultHost.GpuRmrr.Start.Value;
        dom0.MapOk(ctx, dom0.FirstRamGfn, rmrr + 4, 1);
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.EADDRINUSE), dom0.Reattach(ctx, DefaultHost.Gpu)));
        Assert.Same(dom0.Ctx(0), host.DeviceState(DefaultHost.Gpu)!.Value.Context);
        Dma.AssertReaches(host, DefaultHost.Gpu, rmrr, new Mfn(rmrr));
        Assert.Empty(dom0.Ctx(ctx).ReservedRegions);
        host.AssertNoLeaks();
    }

    [Fact]
    public void Reattach_TargetArenaRefusesTable_ReturnsENOMEM_DeviceStays()
    {
        // §3 reattach, all or nothing: the RMRR needs tables in the target; the arena refuses one.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        dom0.Domain.Iommu.Arena!.Faults.FailNth(2);
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.ENOMEM), dom0.Reattach(ctx, DefaultHost.Gpu)));
        Assert.Equal(1, dom0.Domain.Iommu.Arena.InUse);
        Assert.Equal(0, dom0.Reattach(ctx, DefaultHost.Gpu));
        Assert.Equal(0, dom0.Reattach(0, DefaultHost.Gpu));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Reattach_DomUWithPvIommuOn_OwnDeviceOnly()
    {
        // §3 reattach: a DomU moves the devices assigned to it, and no other.
        var host = Hosts.Default();
        var domU = host.DomUOn();
        var ctx = domU.InitAndAlloc(2, 4);
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.ENODEV), domU.Reattach(ctx, DefaultHost.Nic)));
        Assert.Equal(0, domU.Reattach(ctx, DefaultHost.DomUNic));
        Assert.Same(domU.Ctx(ctx), host.DeviceState(DefaultHost.DomUNic)!.Value.Context);
        Assert.Equal(0, domU.Reattach(0, DefaultHost.DomUNic));
        host.AssertNoLeaks();
    }
}
