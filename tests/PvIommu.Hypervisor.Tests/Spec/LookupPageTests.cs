using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Hypervisor.Domains;
using PvIommu.Hypervisor.Tests.Support;
using PvIommu.Platform.Memory;
using static PvIommu.Hypervisor.Tests.Support.Hosts;

namespace PvIommu.Hypervisor.Tests.Spec;

/// <summary>Spec §3 lookup_page (14, extension) and cap bit 6.</summary>
public class LookupPageTests
{
    [Fact]
    public void Lookup_MappedDfn_ReturnsGfnFlagsAndLeafSize()
    {
        // §3 lookup: the gfn the dfn maps, its R/W/cache flags and the size of the leaf.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        var gfn = dom0.FirstRamGfn + 33;
        dom0.MapOk(ctx, gfn, 0x1000, 2, MapFlags.Readable);
        var bytes = new byte[LookupPage.Size];
        new LookupPage { CtxNo = ctx, Dfn = 0x1001, Gfn = 0xDEAD, MapFlags = (MapFlags)0xFF, Pgsize = 7 }.Write(bytes);
        HostState.AssertUnchangedBy(host, () => Assert.Equal(0, dom0.Channel.IommuOp((uint)SubOp.LookupPage, bytes)));
        var look = LookupPage.Read(bytes);
        Assert.Equal(ctx, look.CtxNo);
        Assert.Equal(0x1001UL, look.Dfn);
        Assert.Equal(gfn + 1, look.Gfn);
        Assert.Equal(MapFlags.Readable, look.MapFlags);
        Assert.Equal(PageSizes.Size4K, look.Pgsize);
        Assert.Equal(0, dom0.Free(ctx));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Lookup_InsideSuperpage_ReturnsThatFramesGfn()
    {
        var host = SpecHosts.GigabyteHost();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        dom0.MapOk(ctx, SpecHosts.GigabyteGfn, 0x40000, 1, Guest.RW | MapFlags.Cache, PageSizes.Size1G);
        var (ret, look) = dom0.Lookup(ctx, 0x40000 + 0x2345);
        Assert.Equal(0, ret);
        Assert.Equal(SpecHosts.GigabyteGfn + 0x2345, look.Gfn);
        Assert.Equal(Guest.RW | MapFlags.Cache, look.MapFlags);
        Assert.Equal(PageSizes.Size1G, look.Pgsize);
        Assert.Equal(0, dom0.Free(ctx));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Lookup_NotMapped_ReturnsENOENT_NothingChanges()
    {
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        dom0.MapOk(ctx, dom0.FirstRamGfn, 0x1000, 1);
        HostState.AssertUnchangedBy(host, () =>
        {
            Assert.Equal(Err(XenErrno.ENOENT), dom0.Lookup(ctx, 0x1001).Ret);
            Assert.Equal(Err(XenErrno.ENOENT), dom0.Lookup(ctx, 0).Ret);
            Assert.Equal(Err(XenErrno.ENOENT), dom0.Lookup(ctx, (1UL << 36) - 1).Ret);
        });
        Assert.Equal(0, dom0.Free(ctx));
        host.AssertNoLeaks();
    }

    [Theory]
    [InlineData((ushort)2)]
    [InlineData((ushort)5)]
    [InlineData((ushort)0xFFFF)]
    public void Lookup_UnallocatedContext_ReturnsEINVAL(ushort ctx)
    {
        // Not in the spec; this implementation answers like map and unmap: -EINVAL (docs/conformance.md).
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        Assert.Equal(0, dom0.Init(4, 4));
        Assert.Equal(0, dom0.Alloc().Ret);
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.EINVAL), dom0.Lookup(ctx, 0x1000).Ret));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Lookup_AboveMaxIova_ReturnsERANGE()
    {
        // Not in the spec; this implementation treats a dfn beyond the table width as map does (docs/conformance.md).
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.ERANGE), dom0.Lookup(ctx, 1UL << 36).Ret));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Lookup_PvDom0Context0_ReturnsGfnEqualMfn()
    {
        // §3 lookup: "Context 0 works too when it is not opaque (PV dom0: dfn = mfn = gfn)".
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var gfn = dom0.FirstRamGfn + 0x1234;
        var (ret, look) = dom0.Lookup(0, gfn);
        Assert.Equal(0, ret);
        Assert.Equal(gfn, look.Gfn);
        Assert.Equal(Guest.RW, look.MapFlags);
        var (mret, mmio) = dom0.Lookup(0, 0xF0010);
        Assert.Equal(0, mret);
        Assert.Equal(0xF0010UL, mmio.Gfn);
        Assert.Equal(Err(XenErrno.ENOENT), dom0.Lookup(0, 0x1000).Ret);
        host.AssertNoLeaks();
    }

    [Fact]
    public void Lookup_PvhContext0_ReturnsEOPNOTSUPP()
    {
        // §3 lookup and §5: a PVH domain's context 0 is opaque.
        var host = Hosts.Default();
        var domU = host.DomUOn();
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.EOPNOTSUPP), domU.Lookup(0, 0x10).Ret));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Lookup_PvhContext_ReturnsGuestFrameNotMachineFrame()
    {
        // §3 lookup: a PVH domain's gfn is its guest-physical frame.
        var host = Hosts.Default();
        var domU = host.DomUOn();
        var ctx = domU.InitAndAlloc(2, 4);
        domU.MapOk(ctx, 0x123, 0x4000, 1);
        var (ret, look) = domU.Lookup(ctx, 0x4000);
        Assert.Equal(0, ret);
        Assert.Equal(0x123UL, look.Gfn);
        Assert.NotEqual(domU.MfnOf(0x123).Value, look.Gfn);
        Assert.Equal(0, domU.Free(ctx));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Lookup_PvhMmio_ReturnsItsGfn()
    {
        // §3 lookup: MMIO mapped by a PVH domain reads back at the gfn it was mapped from.
        var host = Hosts.Default();
        var guest = host.NewDomain(new DomainConfig("pvh-mmio", DomainKind.Pvh, 1024) { PvIommu = PvIommuPolicy.On, Mmio = [(0xF0080, 0x10, 0xE0000)] });
        var ctx = guest.InitAndAlloc(2, 4);
        guest.MapOk(ctx, 0xE0004, 0x77, 1);
        var (ret, look) = guest.Lookup(ctx, 0x77);
        Assert.Equal(0, ret);
        Assert.Equal(0xE0004UL, look.Gfn);
        Assert.Equal(0, guest.Free(ctx));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Lookup_ForeignFrameInPvDom0_ReturnsGfnMappedFrom()
    {
        // §3 lookup: "returns the gfn it maps"; for a PV domain that is the frame it passed to map (gfn = mfn),
        // not the owner's gfn of the foreign frame.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        var foreign = host.DomU().MfnOf(0x21);
        dom0.Domain.P2m.Set(foreign.Value, new P2mEntry(foreign, P2mType.Foreign));
        dom0.MapOk(ctx, foreign.Value, 0x1000, 1);
        var (ret, look) = dom0.Lookup(ctx, 0x1000);
        Assert.Equal(0, ret);
        Assert.Equal(foreign.Value, look.Gfn);
        Assert.Equal(0, dom0.Free(ctx));
        dom0.Domain.P2m.Remove(foreign.Value);
        host.AssertNoLeaks();
    }

    [Fact]
    public void Lookup_ForeignFrameInPvhContext_ReturnsGfnMappedFrom()
    {
        // §3 lookup under remote_cmd: the target's gfn of a foreign frame (mapped by the hardware domain for it).
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var domU = host.DomU();
        Assert.Equal(0, dom0.Remote(1, SubOp.Init, new Init { MaxCtxNo = 1, ArenaOrder = 4 }).Ret);
        Assert.Equal(0, dom0.Remote(1, SubOp.AllocContext, new Alloc()).Ret);
        var dom0Frame = new Mfn(dom0.FirstRamGfn + 3);
        domU.Domain.P2m.Set(0x20000, new P2mEntry(dom0Frame, P2mType.Foreign));
        Assert.Equal(0, dom0.Remote(1, SubOp.MapPages, new MapPages { CtxNo = 1, Gfn = 0x20000, Dfn = 0x10, NrPages = 1, MapFlags = Guest.RW, Pgsize = PageSizes.Size4K }).Ret);
        var (ret, look) = dom0.Remote(1, SubOp.LookupPage, new LookupPage { CtxNo = 1, Dfn = 0x10 });
        Assert.Equal(0, ret);
        Assert.Equal(0x20000UL, look.Gfn);
        Assert.Equal(0, dom0.Remote(1, SubOp.FreeContext, new Free { CtxNo = 1 }).Ret);
        domU.Domain.P2m.Remove(0x20000);
        host.AssertNoLeaks();
    }
}
