using PvIommu.Abi;
using PvIommu.Hypervisor.Domains;
using PvIommu.Hypervisor.Iommu;
using PvIommu.Hypervisor.Tests.Support;
using PvIommu.Hypervisor.Toolstack;
using PvIommu.Platform.Memory;
using static PvIommu.Hypervisor.Tests.Support.Hosts;

namespace PvIommu.Hypervisor.Tests.Spec;

/// <summary>Spec §5 "Default context and domain kinds".</summary>
public class DefaultContextTests
{
    private static ulong Rmrr => DefaultHost.GpuRmrr.Start.Value;

    [Fact]
    public void PvDom0_Context0_MapsRamAtMfn_DevicesReachIt()
    {
        // §5: PV dom0's context 0 maps its RAM 1:1, dfn = mfn (= gfn).
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        Assert.Equal(ContextKind.DefaultIdentity, dom0.Ctx(0).Kind);
        var first = dom0.FirstRamGfn;
        var last = first + (ulong)dom0.Domain.P2m.RamFrames - 1;
        foreach (var gfn in new[] { first, first + 0x1234, last })
        {
            Assert.Equal(gfn, dom0.MfnOf(gfn).Value);
            Dma.AssertReaches(host, DefaultHost.Nic, gfn, new Mfn(gfn));
            Dma.AssertReaches(host, DefaultHost.Nvme, gfn, new Mfn(gfn));
        }

        Dma.AssertFaults(host, DefaultHost.Nic, last + 1);
        host.AssertNoLeaks();
    }

    [Fact]
    public void PvDom0_Context0_MapsMmio_NotOtherDomainsRam()
    {
        // §5: "and its MMIO"; another domain's RAM is not dom0's.
        var host = Hosts.Default();
        Dma.AssertReaches(host, DefaultHost.Nic, 0xF0000, new Mfn(0xF0000));
        Dma.AssertReaches(host, DefaultHost.Nic, 0xF00FF, new Mfn(0xF00FF));
        Dma.AssertFaults(host, DefaultHost.Nic, 0xF0100);
        Dma.AssertFaults(host, DefaultHost.Nic, host.DomU().MfnOf(0x10).Value);
        host.AssertNoLeaks();
    }

    [Fact]
    public void PvhDomU_Context0_TranslatesGfnThroughP2m()
    {
        // §5: PVH context 0 translates dfn = gfn through the domain's p2m.
        var host = Hosts.Default();
        var domU = host.DomU();
        Assert.Equal(ContextKind.DefaultShared, domU.Ctx(0).Kind);
        foreach (var gfn in new ulong[] { 0, 0x10, 0xFFFF })
        {
            Dma.AssertReaches(host, DefaultHost.DomUNic, gfn, domU.MfnOf(gfn));
        }

        Dma.AssertFaults(host, DefaultHost.DomUNic, 0x10000);
        Dma.AssertFaults(host, DefaultHost.DomUNic, host.Dom0().FirstRamGfn);
        host.AssertNoLeaks();
    }

    [Fact]
    public void PvhDomU_Context0_IsOpaque()
    {
        // §5: "it is opaque: lookup on it returns -EOPNOTSUPP".
        var host = Hosts.Default();
        var domU = host.DomUOn();
        Assert.False(domU.Ctx(0).IsLookupable);
        Assert.Equal(Err(XenErrno.EOPNOTSUPP), domU.Lookup(0, 0).Ret);
        host.AssertNoLeaks();
    }

    [Fact]
    public void NoDmaDomain_Context0_MapsOnlyReservedRegions_CapBit0Clear()
    {
        // §5: a "no-dma" domain's context 0 maps only reserved regions; cap bit 0 is clear.
        var host = Hosts.Default();
        var guest = host.NewDomainWithGpu(new DomainConfig("nodma", DomainKind.Pvh, 1024) { NoDma = true, PvIommu = PvIommuPolicy.On });
        Assert.Equal(ContextKind.DefaultBlocked, guest.Ctx(0).Kind);
        Assert.Equal((long)DefaultHost.GpuRmrr.Frames, guest.Ctx(0).MappedFrames);
        Dma.AssertFaults(host, DefaultHost.Gpu, 0x10);
        Dma.AssertReaches(host, DefaultHost.Gpu, Rmrr + 2, new Mfn(Rmrr + 2));
        Assert.Equal(CapFlags.None, guest.Query().Caps.CapFlags & CapFlags.DefaultIdentity);
        host.AssertNoLeaks();
    }

    [Fact]
    public void Context0_MapUnmapFree_ReturnEINVAL()
    {
        // §5: "Context 0 is Xen-managed: map/unmap/free on it give -EINVAL".
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        Assert.Equal(0, dom0.Init());
        HostState.AssertUnchangedBy(host, () =>
        {
            Assert.Equal(Err(XenErrno.EINVAL), dom0.Map(0, dom0.FirstRamGfn, 0x1000, 1).Ret);
            Assert.Equal(Err(XenErrno.EINVAL), dom0.Unmap(0, dom0.FirstRamGfn, 1).Ret);
            Assert.Equal(Err(XenErrno.EINVAL), dom0.Free(0, FreeFlags.ReattachDefault));
        });
        Dma.AssertReaches(host, DefaultHost.Nic, dom0.FirstRamGfn, new Mfn(dom0.FirstRamGfn));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Boot_HardwareDomainOwnsEveryDevice_InContext0()
    {
        // §5: "at boot the hardware domain owns every PCI device" (the default host then passes one NIC through).
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        foreach (var device in new[] { DefaultHost.Nic, DefaultHost.Nvme, DefaultHost.Gpu })
        {
            var state = host.DeviceState(device)!.Value;
            Assert.Same(dom0.Domain, state.Owner);
            Assert.Same(dom0.Ctx(0), state.Context);
        }

        Assert.Same(host.DomU().Ctx(0), host.DeviceState(DefaultHost.DomUNic)!.Value.Context);
        host.AssertNoLeaks();
    }

    [Fact]
    public void MakeAssignable_MovesToDomIoContext0_BlockedExceptReservedRegions()
    {
        // §5: making a device assignable moves it to dom_io's context 0: blocked except its reserved regions.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        SpecHosts.Ok(host.MakeAssignable(DefaultHost.Gpu));
        var state = host.DeviceState(DefaultHost.Gpu)!.Value;
        Assert.Same(host.DomIo, state.Owner);
        Assert.Same(host.DomIo.Iommu.Default, state.Context);
        Assert.DoesNotContain(DefaultHost.Gpu, dom0.Domain.Devices);
        Dma.AssertFaults(host, DefaultHost.Gpu, dom0.FirstRamGfn);
        Dma.AssertReaches(host, DefaultHost.Gpu, Rmrr, new Mfn(Rmrr));
        host.AssertNoLeaks();
    }

    [Fact]
    public void AssignDevice_LandsInContext0OfTheDomain()
    {
        // §5: "assigning it to a domain moves it to that domain's context 0".
        var host = Hosts.Default();
        var domU = host.DomU();
        SpecHosts.Ok(host.MakeAssignable(DefaultHost.Gpu));
        SpecHosts.Ok(host.AssignDevice(DefaultHost.Gpu, 1));
        Assert.Same(domU.Ctx(0), host.DeviceState(DefaultHost.Gpu)!.Value.Context);
        Assert.Contains(DefaultHost.Gpu, domU.Domain.Devices);
        Dma.AssertReaches(host, DefaultHost.Gpu, 0x55, domU.MfnOf(0x55));
        Dma.AssertReaches(host, DefaultHost.Gpu, Rmrr + 1, new Mfn(Rmrr + 1));
        host.AssertNoLeaks();
    }

    [Fact]
    public void ReservedRegion_ReachableInWhateverContextTheDeviceIsIn()
    {
        // §5: "A device's reserved regions (RMRR) stay mapped 1:1 in whatever context it is in."
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        Assert.Equal(0, dom0.Init(4, 6));
        var a = dom0.Alloc().Ctx;
        var b = dom0.Alloc(AllocFlags.Identity).Ctx;
        foreach (var ctx in new ushort[] { 0, a, b, 0, a })
        {
            Assert.Equal(0, dom0.Reattach(ctx, DefaultHost.Gpu));
            Dma.AssertReaches(host, DefaultHost.Gpu, Rmrr + ctx, new Mfn(Rmrr + ctx));
        }

        SpecHosts.Ok(host.MakeAssignable(DefaultHost.Gpu));
        Dma.AssertReaches(host, DefaultHost.Gpu, Rmrr + 7, new Mfn(Rmrr + 7));
        SpecHosts.Ok(host.AssignDevice(DefaultHost.Gpu, 1));
        Dma.AssertReaches(host, DefaultHost.Gpu, Rmrr + 8, new Mfn(Rmrr + 8));
        var domU = host.DomUOn();
        var ctxU = domU.InitAndAlloc(2, 4);
        Assert.Equal(0, domU.Reattach(ctxU, DefaultHost.Gpu));
        Dma.AssertReaches(host, DefaultHost.Gpu, Rmrr + 9, new Mfn(Rmrr + 9));
        host.AssertNoLeaks();
    }

    [Fact]
    public void DeassignDevice_FromGuestContext_GoesToDomIo_NoStaleTranslation()
    {
        // §5: a device that leaves a domain (hot-unplug) goes to dom_io's context 0, keeping no translation of its old context.
        var host = Hosts.Default();
        var domU = host.DomUOn();
        var ctx = domU.InitAndAlloc(2, 4);
        Assert.Equal(0, domU.Reattach(ctx, DefaultHost.DomUNic));
        domU.MapOk(ctx, 0x20, 0x3000, 1);
        Dma.AssertReaches(host, DefaultHost.DomUNic, 0x3000, domU.MfnOf(0x20));
        SpecHosts.Ok(host.DeassignDevice(DefaultHost.DomUNic));
        Assert.Same(host.DomIo.Iommu.Default, host.DeviceState(DefaultHost.DomUNic)!.Value.Context);
        Assert.Empty(domU.Ctx(ctx).Devices);
        Dma.AssertFaults(host, DefaultHost.DomUNic, 0x3000);
        Dma.AssertFaults(host, DefaultHost.DomUNic, 0x20);
        Assert.Equal(Err(XenErrno.ENODEV), domU.Reattach(0, DefaultHost.DomUNic));
        Assert.Equal(0, domU.Free(ctx));
        host.AssertNoLeaks();
    }

    [Fact]
    public void DestroyDomain_DevicesGoToDomIo_ArenaBackToHeap()
    {
        // §5: a destroyed domain's devices go to dom_io's context 0; its contexts and arena are released.
        var host = Hosts.Default();
        var heap = host.Heap.FreeFrames;
        var domU = host.DomUOn();
        var ctx = domU.InitAndAlloc(2, 6);
        Assert.Equal(0, domU.Reattach(ctx, DefaultHost.DomUNic));
        domU.MapOk(ctx, 0x20, 0x3000, 4);
        Dma.AssertReaches(host, DefaultHost.DomUNic, 0x3000, domU.MfnOf(0x20));
        SpecHosts.Ok(host.DestroyDomain(1));
        Assert.Same(host.DomIo, host.DeviceState(DefaultHost.DomUNic)!.Value.Owner);
        Dma.AssertFaults(host, DefaultHost.DomUNic, 0x3000);
        Assert.True(host.Heap.FreeFrames > heap);
        host.AssertNoLeaks();
    }

    [Fact]
    public void Reassign_ToAnotherDomain_LandsInItsContext0()
    {
        // §5: reassignment to another domain → context 0 of the new owner.
        var host = Hosts.Default();
        var domU = host.DomUOn();
        var ctx = domU.InitAndAlloc(2, 4);
        Assert.Equal(0, domU.Reattach(ctx, DefaultHost.DomUNic));
        domU.MapOk(ctx, 0x20, 0x3000, 1);
        SpecHosts.Ok(host.DeassignDevice(DefaultHost.DomUNic));
        SpecHosts.Ok(host.AssignDevice(DefaultHost.DomUNic, 0));
        var dom0 = host.Dom0();
        Assert.Same(dom0.Ctx(0), host.DeviceState(DefaultHost.DomUNic)!.Value.Context);
        Dma.AssertFaults(host, DefaultHost.DomUNic, 0x3000);
        Dma.AssertReaches(host, DefaultHost.DomUNic, dom0.FirstRamGfn, new Mfn(dom0.FirstRamGfn));
        Assert.Equal(0, domU.Free(ctx));
        host.AssertNoLeaks();
    }
}
