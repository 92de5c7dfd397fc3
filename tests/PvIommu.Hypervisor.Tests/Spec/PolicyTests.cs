using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Hypervisor.Domains;
using PvIommu.Hypervisor.Tests.Support;
using PvIommu.Hypervisor.Toolstack;
using static PvIommu.Hypervisor.Tests.Support.Hosts;

namespace PvIommu.Hypervisor.Tests.Spec;

/// <summary>Spec §1.1 "Who may call".</summary>
public class PolicyTests
{
    public static TheoryData<SubOp> GuardedSubOps =>
    [
        SubOp.Init, SubOp.AllocContext, SubOp.FreeContext, SubOp.ReattachDevice,
        SubOp.MapPages, SubOp.UnmapPages, SubOp.LookupPage, SubOp.FlushPages,
    ];

    [Fact]
    public void Query_CapsOnlyDomU_SucceedsWithMaxCtxNoZero()
    {
        // §1.1 row 3: a DomU with an IOMMU may query; it reports max_ctx_no = 0 until someone initialises it.
        var host = Hosts.Default();
        var domU = host.DomU();
        Assert.Equal(PvIommuPolicy.CapsOnly, domU.Domain.Policy);
        var (ret, caps) = domU.Query();
        Assert.Equal(0, ret);
        Assert.Equal(0, caps.MaxCtxNo);
        host.AssertNoLeaks();
    }

    [Theory]
    [MemberData(nameof(GuardedSubOps))]
    public void GuardedSubOp_CapsOnlyDomU_ReturnsEPERM_NothingChanges(SubOp op)
    {
        // §1.1 row 3: everything but query is -EPERM unless the toolstack set pv_iommu = "on".
        var host = Hosts.Default();
        var domU = host.DomU();
        var bytes = Valid(op, domU);
        var copy = bytes.ToArray();
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.EPERM), domU.Channel.IommuOp((uint)op, bytes)));
        Assert.Equal(copy, bytes);
        Assert.False(domU.Domain.Iommu.IsInitialised);
        host.AssertNoLeaks();
    }

    [Fact]
    public void RemoteCmd_CapsOnlyDomU_ReturnsEPERM()
    {
        // §1.1 row 3, last column, and §3 remote_cmd: "caller not allowed: -EPERM".
        var host = Hosts.Default();
        var domU = host.DomU();
        HostState.AssertUnchangedBy(host, () =>
        {
            Assert.Equal(Err(XenErrno.EPERM), domU.Remote(1, SubOp.Init, new Init { MaxCtxNo = 4, ArenaOrder = 4 }).Ret);
            Assert.Equal(Err(XenErrno.EPERM), domU.Remote(0, SubOp.QueryCapabilities, new Capabilities()).Ret);
        });
        host.AssertNoLeaks();
    }

    [Fact]
    public void LocalSubOps_DomUWithPvIommuOn_AreAllowed()
    {
        // §1.1 row 3: with pv_iommu = "on" a DomU initialises, allocates, reattaches its own device, maps its own RAM.
        var host = Hosts.Default();
        var domU = host.DomUOn();
        var ctx = domU.InitAndAlloc(4, 6);
        Assert.Equal(0, domU.Reattach(ctx, DefaultHost.DomUNic));
        domU.MapOk(ctx, 0x10, 0x5000, 2);
        Dma.AssertReaches(host, DefaultHost.DomUNic, 0x5001, domU.MfnOf(0x11));
        var (lret, look) = domU.Lookup(ctx, 0x5001);
        Assert.Equal(0, lret);
        Assert.Equal(0x11UL, look.Gfn);
        Assert.Equal(0, domU.Flush(ctx, 0x5000, 2));
        Assert.Equal(2u, domU.Unmap(ctx, 0x5000, 2).Out.Unmapped);
        Assert.Equal(0, domU.Free(ctx, FreeFlags.ReattachDefault));
        host.AssertNoLeaks();
    }

    [Fact]
    public void RemoteCmd_DomUWithPvIommuOn_StillReturnsEPERM()
    {
        // §1.1: pv_iommu = "on" opens the local sub-ops only; remote_cmd stays dom0's and the device model's.
        var host = Hosts.Default();
        var domU = host.DomUOn();
        HostState.AssertUnchangedBy(host, () =>
            Assert.Equal(Err(XenErrno.EPERM), domU.Remote(1, SubOp.Init, new Init { MaxCtxNo = 4, ArenaOrder = 4 }).Ret));
        host.AssertNoLeaks();
    }

    [Fact]
    public void RemoteCmd_HardwareDomain_OnAnyDomain_Succeeds()
    {
        // §1.1 row 1: dom0 may remote_cmd any domain, itself included.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var other = host.NewDomain(new DomainConfig("other", DomainKind.Pvh, 1024));
        Assert.Equal(0, dom0.Remote(1, SubOp.Init, new Init { MaxCtxNo = 2, ArenaOrder = 2 }).Ret);
        Assert.Equal(0, dom0.Remote(other.Domain.Id, SubOp.Init, new Init { MaxCtxNo = 3, ArenaOrder = 2 }).Ret);
        Assert.Equal(0, dom0.Remote(0, SubOp.Init, new Init { MaxCtxNo = 5, ArenaOrder = 2 }).Ret);
        Assert.Equal(2, host.DomU().Query().Caps.MaxCtxNo);
        Assert.Equal(3, other.Query().Caps.MaxCtxNo);
        Assert.Equal(5, dom0.Query().Caps.MaxCtxNo);
        host.AssertNoLeaks();
    }

    [Fact]
    public void RemoteCmd_DeviceModel_OnItsTarget_Succeeds()
    {
        // §1.1 row 2: a stub domain named device model of T may remote_cmd T.
        var host = Hosts.Default();
        var stub = host.NewDomain(new DomainConfig("stubdom", DomainKind.Pv, 1024));
        SpecHosts.Ok(host.SetDeviceModel(stub.Domain.Id, 1));
        Assert.Equal(0, stub.Remote(1, SubOp.Init, new Init { MaxCtxNo = 2, ArenaOrder = 3 }).Ret);
        var (ret, alloc) = stub.Remote(1, SubOp.AllocContext, new Alloc());
        Assert.Equal(0, ret);
        Assert.Equal(1, alloc.CtxNo);
        Assert.Equal(0, stub.Remote(1, SubOp.ReattachDevice, new ReattachDevice { CtxNo = 1, Dev = Guest.Dev(DefaultHost.DomUNic) }).Ret);
        Assert.Equal(1, host.DeviceState(DefaultHost.DomUNic)!.Value.Context.Number);
        Assert.Equal(0, stub.Remote(1, SubOp.FreeContext, new Free { CtxNo = 1, FreeFlags = FreeFlags.ReattachDefault }).Ret);
        host.AssertNoLeaks();
    }

    [Fact]
    public void RemoteCmd_DeviceModel_OnAnotherDomain_ReturnsEPERM()
    {
        // §1.1 row 2: "yes, on T only".
        var host = Hosts.Default();
        var stub = host.NewDomain(new DomainConfig("stubdom", DomainKind.Pv, 1024));
        var other = host.NewDomain(new DomainConfig("other", DomainKind.Pvh, 1024));
        SpecHosts.Ok(host.SetDeviceModel(stub.Domain.Id, 1));
        HostState.AssertUnchangedBy(host, () =>
        {
            Assert.Equal(Err(XenErrno.EPERM), stub.Remote(0, SubOp.Init, new Init { MaxCtxNo = 2, ArenaOrder = 2 }).Ret);
            Assert.Equal(Err(XenErrno.EPERM), stub.Remote(other.Domain.Id, SubOp.Init, new Init { MaxCtxNo = 2, ArenaOrder = 2 }).Ret);
            Assert.Equal(Err(XenErrno.EPERM), stub.Remote(stub.Domain.Id, SubOp.Init, new Init { MaxCtxNo = 2, ArenaOrder = 2 }).Ret);
        });
        host.AssertNoLeaks();
    }

    [Fact]
    public void LocalCall_DeviceModel_FollowsItsOwnRow()
    {
        // §1.1 row 2: for its own local calls a device model is just a caps-only domain.
        var host = Hosts.Default();
        var stub = host.NewDomain(new DomainConfig("stubdom", DomainKind.Pv, 1024));
        SpecHosts.Ok(host.SetDeviceModel(stub.Domain.Id, 1));
        Assert.Equal(0, stub.Query().Ret);
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.EPERM), stub.Init(2, 2)));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Query_DomU_ReportsLimitsOnceInitialisedRemotely()
    {
        // §1.1: "reports max_ctx_no = 0 until someone initialises it"; §3 init: the toolstack initialises through remote_cmd.
        var host = Hosts.Default();
        var domU = host.DomU();
        Assert.Equal(0, domU.Query().Caps.MaxCtxNo);
        Assert.Equal(0, host.Dom0().Remote(1, SubOp.Init, new Init { MaxCtxNo = 7, ArenaOrder = 3 }).Ret);
        Assert.Equal(7, domU.Query().Caps.MaxCtxNo);
        Assert.Equal(Err(XenErrno.EPERM), domU.Alloc().Ret);
        host.AssertNoLeaks();
    }

    /// <summary>A well-formed argument for <paramref name="op"/> (the call must fail on policy, not shape).</summary>
    private static byte[] Valid(SubOp op, Guest guest)
    {
        var bytes = new byte[SubOps.ArgumentSize(op)];
        switch (op)
        {
            case SubOp.Init:
                new Init { MaxCtxNo = 4, ArenaOrder = 4 }.Write(bytes);
                break;
            case SubOp.FreeContext:
                new Free { CtxNo = 1 }.Write(bytes);
                break;
            case SubOp.ReattachDevice:
                new ReattachDevice { CtxNo = 0, Dev = Guest.Dev(DefaultHost.DomUNic) }.Write(bytes);
                break;
            case SubOp.MapPages:
                new MapPages { CtxNo = 1, Gfn = guest.FirstRamGfn, Dfn = 0x100, NrPages = 1, MapFlags = Guest.RW, Pgsize = PageSizes.Size4K }.Write(bytes);
                break;
            case SubOp.UnmapPages:
                new UnmapPages { CtxNo = 1, Dfn = 0x100, NrPages = 1, Pgsize = PageSizes.Size4K }.Write(bytes);
                break;
            case SubOp.LookupPage:
                new LookupPage { CtxNo = 1, Dfn = 0x100 }.Write(bytes);
                break;
            case SubOp.FlushPages:
                new FlushPages { CtxNo = 1, Dfn = 0x100, NrPages = 1, Pgsize = PageSizes.Size4K }.Write(bytes);
                break;
            default:
                break;
        }

        return bytes;
    }
}
