using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Hypervisor.Domains;
using PvIommu.Hypervisor.Tests.Support;
using PvIommu.Hypervisor.Toolstack;
using static PvIommu.Hypervisor.Tests.Support.Hosts;

namespace PvIommu.Hypervisor.Tests.Spec;

/// <summary>Spec §3 remote_cmd (8) and the remote_cmd row of §6.</summary>
public class RemoteCmdTests
{
    [Fact]
    public void Remote_InnerStructWrittenBackToCaller()
    {
        // §3 remote_cmd: the inner struct is written back to the caller (alloc's ctx_no, map's mapped).
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        Assert.Equal(0, dom0.Remote(1, SubOp.Init, new Init { MaxCtxNo = 4, ArenaOrder = 4 }).Ret);
        var (ret, alloc) = dom0.Remote(1, SubOp.AllocContext, new Alloc());
        Assert.Equal(0, ret);
        Assert.Equal(1, alloc.CtxNo);
        var (mret, map) = dom0.Remote(1, SubOp.MapPages, new MapPages { CtxNo = 1, Gfn = 0xFFFE, Dfn = 0x1000, NrPages = 4, MapFlags = Guest.RW, Pgsize = PageSizes.Size4K });
        Assert.Equal(Err(XenErrno.ENOENT), mret);
        Assert.Equal(2u, map.Mapped);
        Assert.Equal(0, dom0.Remote(1, SubOp.FreeContext, new Free { CtxNo = 1 }).Ret);
        host.AssertNoLeaks();
    }

    [Fact]
    public void Remote_ActsOnTargetsGfnsContextsAndDevices()
    {
        // §3 remote_cmd: "devices, gfns, contexts and limits are the target's".
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var domU = host.DomU();
        Assert.Equal(0, dom0.Init(8, 4));
        Assert.Equal(0, dom0.Remote(1, SubOp.Init, new Init { MaxCtxNo = 2, ArenaOrder = 4 }).Ret);
        Assert.Equal(1, dom0.Remote(1, SubOp.AllocContext, new Alloc()).Inner.CtxNo);
        Assert.Empty(dom0.Domain.Iommu.GuestContexts);
        Assert.Equal(0, dom0.Remote(1, SubOp.ReattachDevice, new ReattachDevice { CtxNo = 1, Dev = Guest.Dev(DefaultHost.DomUNic) }).Ret);
        Assert.Equal(Err(XenErrno.ENODEV), dom0.Remote(1, SubOp.ReattachDevice, new ReattachDevice { CtxNo = 1, Dev = Guest.Dev(DefaultHost.Nic) }).Ret);
        var (ret, _) = dom0.Remote(1, SubOp.MapPages, new MapPages { CtxNo = 1, Gfn = 0x30, Dfn = 0x700, NrPages = 1, MapFlags = Guest.RW, Pgsize = PageSizes.Size4K });
        Assert.Equal(0, ret);
        Dma.AssertReaches(host, DefaultHost.DomUNic, 0x700, domU.MfnOf(0x30));
        var (lret, look) = dom0.Remote(1, SubOp.LookupPage, new LookupPage { CtxNo = 1, Dfn = 0x700 });
        Assert.Equal(0, lret);
        Assert.Equal(0x30UL, look.Gfn);
        Assert.Equal(0, dom0.Remote(1, SubOp.FreeContext, new Free { CtxNo = 1, FreeFlags = FreeFlags.ReattachDefault }).Ret);
        host.AssertNoLeaks();
    }

    [Fact]
    public void Remote_TargetCapsOnly_IsNoObstacle()
    {
        // §1.1 + §3 remote_cmd: the caller's rights apply, not the target's pv_iommu policy ("caps-only" DomU).
        var host = Hosts.Default();
        Assert.Equal(PvIommuPolicy.CapsOnly, host.DomU().Domain.Policy);
        Assert.Equal(0, host.Dom0().Remote(1, SubOp.Init, new Init { MaxCtxNo = 2, ArenaOrder = 2 }).Ret);
        Assert.Equal(0, host.Dom0().Remote(1, SubOp.AllocContext, new Alloc()).Ret);
        host.AssertNoLeaks();
    }

    [Fact]
    public void Remote_CallerRights_HardwareDomainMayMapTargetsForeignFrame_DeviceModelMayNot()
    {
        // §3 remote_cmd: "as if that domain had called it but with the caller's rights" (§3 map: foreign RAM needs the hardware domain).
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var domU = host.DomU();
        var stub = host.NewDomain(new DomainConfig("stubdom", DomainKind.Pv, 1024));
        SpecHosts.Ok(host.SetDeviceModel(stub.Domain.Id, 1));
        Assert.Equal(0, stub.Remote(1, SubOp.Init, new Init { MaxCtxNo = 2, ArenaOrder = 4 }).Ret);
        Assert.Equal(0, stub.Remote(1, SubOp.AllocContext, new Alloc()).Ret);
        var dom0Frame = dom0.MfnOf(dom0.FirstRamGfn + 3);
        domU.Domain.P2m.Set(0x20000, new P2mEntry(dom0Frame, P2mType.Foreign));
        var map = new MapPages { CtxNo = 1, Gfn = 0x20000, Dfn = 0x10, NrPages = 1, MapFlags = Guest.RW, Pgsize = PageSizes.Size4K };
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.EPERM), stub.Remote(1, SubOp.MapPages, map).Ret));
        Assert.Equal(0, dom0.Remote(1, SubOp.MapPages, map).Ret);
        Assert.Equal(1, domU.Ctx(1).MappedFrames);
        Assert.Equal(0, dom0.Remote(1, SubOp.FreeContext, new Free { CtxNo = 1 }).Ret);
        domU.Domain.P2m.Remove(0x20000);
        host.AssertNoLeaks();
    }

    [Theory]
    [InlineData((ushort)77)]
    [InlineData((ushort)0x7FF0)]
    [InlineData((ushort)Host.DomIoId)]
    [InlineData((ushort)0xFFFF)]
    public void Remote_NoSuchDomain_ReturnsENOENT(ushort domid)
    {
        // §3 remote_cmd: no such domain → -ENOENT (DOMID_SELF is not resolved; dom_io is not a target).
        var host = Hosts.Default();
        HostState.AssertUnchangedBy(host, () =>
            Assert.Equal(Err(XenErrno.ENOENT), host.Dom0().Remote(domid, SubOp.Init, new Init { MaxCtxNo = 2, ArenaOrder = 2 }).Ret));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Remote_DestroyedDomain_ReturnsENOENT()
    {
        var host = Hosts.Default();
        SpecHosts.Ok(host.DestroyDomain(1));
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.ENOENT), host.Dom0().Remote(1, SubOp.QueryCapabilities, new Capabilities()).Ret));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Remote_TargetWithoutIommu_ReturnsENODEV()
    {
        // §3 remote_cmd: target without IOMMU → -ENODEV.
        var host = Hosts.Default();
        var plain = host.NewDomain(new DomainConfig("no-iommu", DomainKind.Pvh, 1024) { IommuEnabled = false });
        HostState.AssertUnchangedBy(host, () =>
        {
            Assert.Equal(Err(XenErrno.ENODEV), host.Dom0().Remote(plain.Domain.Id, SubOp.QueryCapabilities, new Capabilities()).Ret);
            Assert.Equal(Err(XenErrno.ENODEV), host.Dom0().Remote(plain.Domain.Id, SubOp.Init, new Init { MaxCtxNo = 2, ArenaOrder = 2 }).Ret);
        });
        host.AssertNoLeaks();
    }

    [Fact]
    public void Remote_TargetPvIommuOff_ReturnsENODEV()
    {
        // §1.1 last row applied to the target (this implementation's reading, docs/conformance.md): pv_iommu "off" shuts PV-IOMMU for the domain.
        var host = Hosts.Default();
        SpecHosts.Ok(host.SetPvIommu(1, PvIommuPolicy.Off));
        HostState.AssertUnchangedBy(host, () =>
            Assert.Equal(Err(XenErrno.ENODEV), host.Dom0().Remote(1, SubOp.Init, new Init { MaxCtxNo = 2, ArenaOrder = 2 }).Ret));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Remote_NestedRemoteCmd_ReturnsEINVAL()
    {
        // §3 remote_cmd: inner sub-op remote_cmd → -EINVAL.
        var host = Hosts.Default();
        HostState.AssertUnchangedBy(host, () =>
            Assert.Equal(Err(XenErrno.EINVAL), host.Dom0().Remote(1, SubOp.RemoteCmd, new RemoteCmd { Domid = 1, Subop = SubOp.Init }).Ret));
        host.AssertNoLeaks();
    }

    [Theory]
    [InlineData(9u)]
    [InlineData(12u)]
    [InlineData(15u)]
    [InlineData(0xFFFFu)]
    public void Remote_InnerUnknownOrUnimplemented_ReturnsEOPNOTSUPP(uint subOp)
    {
        // §1 applied to the inner sub-op.
        var host = Hosts.Default();
        var bytes = new byte[RemoteCmd.Size + 24];
        new RemoteCmd { Domid = 1, Subop = (SubOp)subOp }.Write(bytes);
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.EOPNOTSUPP), host.Dom0().Channel.IommuOp((uint)SubOp.RemoteCmd, bytes)));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Remote_InnerNoop_ReturnsZero()
    {
        var host = Hosts.Default();
        var bytes = new byte[RemoteCmd.Size];
        new RemoteCmd { Domid = 1, Subop = SubOp.Noop }.Write(bytes);
        Assert.Equal(0, host.Dom0().Channel.IommuOp((uint)SubOp.RemoteCmd, bytes));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Remote_DeviceModelOfDestroyedTarget_DomidReused_ReturnsEPERM()
    {
        // §1.1 row 2: the device model may act on "T only". When T is destroyed and its domid reused,
        // the new domain is not T (Xen holds the target domain until its device model dies).
        var host = Hosts.Default();
        var stub = host.NewDomain(new DomainConfig("stubdom", DomainKind.Pv, 1024));
        var target = host.NewDomain(new DomainConfig("hvm-guest", DomainKind.Pvh, 1024));
        SpecHosts.Ok(host.SetDeviceModel(stub.Domain.Id, target.Domain.Id));
        Assert.Equal(0, stub.Remote(target.Domain.Id, SubOp.QueryCapabilities, new Capabilities()).Ret);
        SpecHosts.Ok(host.DestroyDomain(target.Domain.Id));
        var stranger = host.NewDomain(new DomainConfig("someone-else", DomainKind.Pvh, 1024));
        Assert.Equal(target.Domain.Id, stranger.Domain.Id);
        HostState.AssertUnchangedBy(host, () =>
            Assert.Equal(Err(XenErrno.EPERM), stub.Remote(stranger.Domain.Id, SubOp.Init, new Init { MaxCtxNo = 2, ArenaOrder = 2 }).Ret));
        host.AssertNoLeaks();
    }
}
