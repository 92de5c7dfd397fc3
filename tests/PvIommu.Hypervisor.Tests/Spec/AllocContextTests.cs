using PvIommu.Abi;
using PvIommu.Hypervisor.Iommu;
using PvIommu.Hypervisor.Tests.Support;
using PvIommu.Hypervisor.Toolstack;
using PvIommu.Platform.Memory;
using static PvIommu.Hypervisor.Tests.Support.Hosts;

namespace PvIommu.Hypervisor.Tests.Spec;

/// <summary>Spec §3 alloc_context (3).</summary>
public class AllocContextTests
{
    [Fact]
    public void Alloc_AfterInit_ReturnsLowestFreeNumber()
    {
        // §3 alloc: the lowest free number in 1..max_ctx_no, in ctx_no; freed numbers are reused lowest first.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        Assert.Equal(0, dom0.Init(8, 4));
        Assert.Equal((0, (ushort)1), dom0.Alloc());
        Assert.Equal((0, (ushort)2), dom0.Alloc());
        Assert.Equal((0, (ushort)3), dom0.Alloc());
        Assert.Equal(0, dom0.Free(2));
        Assert.Equal(0, dom0.Free(1));
        Assert.Equal((0, (ushort)1), dom0.Alloc());
        Assert.Equal((0, (ushort)2), dom0.Alloc());
        Assert.Equal((0, (ushort)4), dom0.Alloc());
        host.AssertNoLeaks();
    }

    [Fact]
    public void Alloc_BeforeInit_ReturnsENOSPC_NothingChanges()
    {
        // §3 alloc: not initialised → -ENOSPC.
        var host = Hosts.Default();
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.ENOSPC), host.Dom0().Alloc().Ret));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Alloc_AllNumbersTaken_ReturnsENOSPC_NothingChanges()
    {
        // §3 alloc: no number free → -ENOSPC.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        Assert.Equal(0, dom0.Init(2, 4));
        Assert.Equal(0, dom0.Alloc().Ret);
        Assert.Equal(0, dom0.Alloc().Ret);
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.ENOSPC), dom0.Alloc().Ret));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Alloc_CostsOneArenaPage()
    {
        // §3 alloc: the new context costs one arena page, its root table.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        Assert.Equal(0, dom0.Init(4, 4));
        var arena = dom0.Domain.Iommu.Arena!;
        Assert.Equal(0, dom0.Alloc().Ret);
        Assert.Equal(1, arena.InUse);
        Assert.Equal(0, dom0.Alloc().Ret);
        Assert.Equal(2, arena.InUse);
        host.AssertNoLeaks();
    }

    [Fact]
    public void Alloc_ArenaExhausted_ReturnsENOMEM_NothingChanges()
    {
        // §3 alloc: no arena page left for the root → -ENOMEM; the number stays free.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        Assert.Equal(0, dom0.Init(4, 0));
        Assert.Equal((0, (ushort)1), dom0.Alloc());
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.ENOMEM), dom0.Alloc().Ret));
        Assert.Equal(0, dom0.Free(1));
        Assert.Equal((0, (ushort)1), dom0.Alloc());
        host.AssertNoLeaks();
    }

    [Fact]
    public void Alloc_ArenaPageRefused_ReturnsENOMEM_NothingChanges()
    {
        // §3 alloc: -ENOMEM when the arena refuses the root page (fault injection, style habit 12).
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        Assert.Equal(0, dom0.Init(4, 4));
        dom0.Domain.Iommu.Arena!.Faults.FailNth(1);
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.ENOMEM), dom0.Alloc().Ret));
        Assert.Equal((0, (ushort)1), dom0.Alloc());
        host.AssertNoLeaks();
    }

    [Fact]
    public void Alloc_UnknownFlag_ReturnsEINVAL_NothingChanges()
    {
        // §2: any alloc_flags bit other than ALLOC_identity → -EINVAL.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        Assert.Equal(0, dom0.Init(4, 4));
        HostState.AssertUnchangedBy(host, () =>
        {
            Assert.Equal(Err(XenErrno.EINVAL), dom0.Alloc((AllocFlags)2).Ret);
            Assert.Equal(Err(XenErrno.EINVAL), dom0.Alloc(AllocFlags.Identity | (AllocFlags)0x8000_0000).Ret);
        });
        host.AssertNoLeaks();
    }

    [Fact]
    public void Alloc_NewContext_MapsNothing_DeviceFaults()
    {
        // §3 alloc: a new context maps nothing; a device moved into it faults everywhere.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        Assert.Equal(0, dom0.Ctx(ctx).MappedFrames);
        Assert.Equal(Err(XenErrno.ENOENT), dom0.Lookup(ctx, dom0.FirstRamGfn).Ret);
        Dma.AssertReaches(host, DefaultHost.Nic, dom0.FirstRamGfn, new Mfn(dom0.FirstRamGfn));
        Assert.Equal(0, dom0.Reattach(ctx, DefaultHost.Nic));
        Dma.AssertFaults(host, DefaultHost.Nic, dom0.FirstRamGfn);
        Dma.AssertFaults(host, DefaultHost.Nic, 0);
        Assert.Equal(0, dom0.Reattach(0, DefaultHost.Nic));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Alloc_NewContext_DeviceReachesOnlyItsReservedRegion()
    {
        // §3 alloc: "a device moved into it can reach only its own reserved regions (RMRR)".
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        Assert.Equal(0, dom0.Reattach(ctx, DefaultHost.Gpu));
        var rmrr = DefaultHost.GpuRmrr;
        for (ulong i = 0; i < rmrr.Frames; i++)
        {
            Dma.AssertReaches(host, DefaultHost.Gpu, rmrr.Start.Value + i, new Mfn(rmrr.Start.Value + i));
        }

        Assert.Equal((long)rmrr.Frames, dom0.Ctx(ctx).MappedFrames);
        Dma.AssertFaults(host, DefaultHost.Gpu, rmrr.Start.Value - 1);
        Dma.AssertFaults(host, DefaultHost.Gpu, rmrr.End.Value);
        Dma.AssertFaults(host, DefaultHost.Gpu, dom0.FirstRamGfn);
        Assert.Equal(0, dom0.Reattach(0, DefaultHost.Gpu));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Alloc_Identity_MapsEveryRamPageAtGfn_WithLargestLeaves()
    {
        // §3 alloc with ALLOC_identity: every RAM page at dfn = gfn, read/write, largest page sizes that fit.
        var host = Hosts.Default();
        var domU = host.DomUOn();
        Assert.Equal(0, domU.Init(4, 6));
        var (ret, ctx) = domU.Alloc(AllocFlags.Identity);
        Assert.Equal(0, ret);
        var context = domU.Ctx(ctx);
        Assert.Equal(ContextKind.Identity, context.Kind);
        Assert.Equal(domU.Domain.P2m.RamFrames, context.MappedFrames);
        foreach (var gfn in new ulong[] { 0, 1, 511, 512, 0x8000, 0xFFFF })
        {
            var (lret, look) = domU.Lookup(ctx, gfn);
            Assert.Equal(0, lret);
            Assert.Equal(gfn, look.Gfn);
            Assert.Equal(Guest.RW, look.MapFlags);
            Assert.Equal(PageSizes.Size2M, look.Pgsize);
        }

        Assert.Equal(Err(XenErrno.ENOENT), domU.Lookup(ctx, 0x10000).Ret);
        Assert.Equal(0, domU.Reattach(ctx, DefaultHost.DomUNic));
        Dma.AssertReaches(host, DefaultHost.DomUNic, 0x1234, domU.MfnOf(0x1234));
        Assert.Equal(0, domU.Free(ctx, FreeFlags.ReattachDefault));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Alloc_Identity_ReadOnlyRamIsMappedReadOnly()
    {
        // §3 alloc identity vs §3 map ("read-only p2m type with W: -EPERM"): a read-only RAM page is mapped readable only (ambiguity resolved, docs/conformance.md).
        var host = Hosts.Default();
        var domU = host.DomUOn();
        domU.Domain.P2m.Set(0x42, new(domU.MfnOf(0x42), Domains.P2mType.RamReadOnly));
        Assert.Equal(0, domU.Init(4, 8));
        var ctx = domU.Alloc(AllocFlags.Identity).Ctx;
        Assert.Equal(MapFlags.Readable, domU.Lookup(ctx, 0x42).Out.MapFlags);
        Assert.Equal(Guest.RW, domU.Lookup(ctx, 0x43).Out.MapFlags);
        Assert.Equal(0, domU.Reattach(ctx, DefaultHost.DomUNic));
        Dma.AssertFaults(host, DefaultHost.DomUNic, 0x42, Platform.Iommu.FaultReason.WriteNotPermitted);
        Assert.True(Dma.Read(host, DefaultHost.DomUNic, 0x42).IsOk);
        Assert.Equal(0, domU.Free(ctx, FreeFlags.ReattachDefault));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Alloc_Identity_ArenaTooSmall_ReturnsENOMEM_NothingChanges()
    {
        // §3 alloc: the identity context's tables come from the arena; when they do not fit, -ENOMEM and nothing is left behind.
        var host = Hosts.Default();
        var domU = host.DomUOn();
        Assert.Equal(0, domU.Init(4, 1));
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.ENOMEM), domU.Alloc(AllocFlags.Identity).Ret));
        Assert.Equal(0, domU.Domain.Iommu.Arena!.InUse);
        Assert.Equal((0, (ushort)1), domU.Alloc());
        host.AssertNoLeaks();
    }

    [Fact]
    public void Alloc_Identity_HoldsOneReferencePerRamFrame()
    {
        // §3 map "each mapped RAM frame holds one page reference", applied to identity contexts; free drops them.
        var host = Hosts.Default();
        var domU = host.DomUOn();
        Assert.Equal(0, domU.Init(4, 6));
        var mfn = domU.MfnOf(0x99);
        var references = host.Frames.CountOf(mfn);
        var ctx = domU.Alloc(AllocFlags.Identity).Ctx;
        Assert.Equal(references + 1, host.Frames.CountOf(mfn));
        host.AssertNoLeaks();
        Assert.Equal(0, domU.Free(ctx));
        Assert.Equal(references, host.Frames.CountOf(mfn));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Alloc_PvDom0Identity_UsesLargestLeavesThatFit()
    {
        // §3 alloc identity, "largest page sizes that fit": 1 GiB where dfn and mfn are 1 GiB-aligned, else 2 MiB.
        var host = SpecHosts.GigabyteHost();
        var dom0 = host.Dom0();
        Assert.Equal(0, dom0.Init(4, 4));
        var ctx = dom0.Alloc(AllocFlags.Identity).Ctx;
        var (ret, look) = dom0.Lookup(ctx, SpecHosts.GigabyteGfn + 0x12345);
        Assert.Equal(0, ret);
        Assert.Equal(SpecHosts.GigabyteGfn + 0x12345, look.Gfn);
        Assert.Equal(PageSizes.Size1G, look.Pgsize);
        Assert.Equal(Guest.RW, look.MapFlags);
        Assert.Equal(PageSizes.Size2M, dom0.Lookup(ctx, dom0.FirstRamGfn).Out.Pgsize);
        Assert.Equal(PageSizes.Size2M, dom0.Lookup(ctx, SpecHosts.GigabyteGfn - 1).Out.Pgsize);
        Assert.True(dom0.Ctx(ctx).Table.TryLookup(SpecHosts.GigabyteGfn, out var leaf));
        Assert.Equal(3, leaf.Level);
        Assert.Equal(dom0.Domain.P2m.RamFrames, dom0.Ctx(ctx).MappedFrames);
        Assert.Equal(0, dom0.Free(ctx));
        host.AssertNoLeaks();
    }
}
