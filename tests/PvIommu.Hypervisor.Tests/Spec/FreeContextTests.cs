using PvIommu.Abi;
using PvIommu.Hypervisor.Tests.Support;
using PvIommu.Hypervisor.Toolstack;
using PvIommu.Platform.Memory;
using static PvIommu.Hypervisor.Tests.Support.Hosts;

namespace PvIommu.Hypervisor.Tests.Spec;

/// <summary>Spec §3 free_context (4) and the free row of §6.</summary>
public class FreeContextTests
{
    [Fact]
    public void Free_Context0_ReturnsEINVAL_NothingChanges()
    {
        // §3 free: context 0 → -EINVAL (§5: context 0 is Xen-managed).
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        Assert.Equal(0, dom0.Init());
        HostState.AssertUnchangedBy(host, () =>
        {
            Assert.Equal(Err(XenErrno.EINVAL), dom0.Free(0));
            Assert.Equal(Err(XenErrno.EINVAL), dom0.Free(0, FreeFlags.ReattachDefault));
        });
        host.AssertNoLeaks();
    }

    [Theory]
    [InlineData((ushort)1)]
    [InlineData((ushort)4)]
    [InlineData((ushort)5)]
    [InlineData((ushort)0xFFFF)]
    public void Free_NotAllocated_ReturnsENOENT_NothingChanges(ushort number)
    {
        // §3 free: not allocated (free, beyond max_ctx_no, 0xFFFF) → -ENOENT.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        Assert.Equal(0, dom0.Init(4, 4));
        Assert.Equal((0, (ushort)1), dom0.Alloc());
        Assert.Equal(0, dom0.Free(1));
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.ENOENT), dom0.Free(number)));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Free_BeforeInit_ReturnsENOENT()
    {
        // §3 free: nothing is allocated before init.
        var host = Hosts.Default();
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.ENOENT), host.Dom0().Free(1)));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Free_UnknownFlag_ReturnsEINVAL_NothingChanges()
    {
        // §2: any free_flags bit other than FREE_reattach_default → -EINVAL.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.EINVAL), dom0.Free(ctx, (FreeFlags)2)));
        Assert.Equal(0, dom0.Free(ctx));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Free_DevicesAttachedWithoutFlag_ReturnsEBUSY_NothingChanges()
    {
        // §3 free and §6 row 5: -EBUSY and nothing changes (upstream leaves the context dying); it stays usable.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        Assert.Equal(0, dom0.Reattach(ctx, DefaultHost.Nic));
        dom0.MapOk(ctx, dom0.FirstRamGfn, 0x2000, 2);
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.EBUSY), dom0.Free(ctx)));
        Dma.AssertReaches(host, DefaultHost.Nic, 0x2001, new Mfn(dom0.FirstRamGfn + 1));
        dom0.MapOk(ctx, dom0.FirstRamGfn + 5, 0x3000, 1);
        Assert.Equal(0, dom0.Reattach(ctx, DefaultHost.Nic));
        Assert.Equal(0, dom0.Reattach(0, DefaultHost.Nic));
        Assert.Equal(0, dom0.Free(ctx));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Free_ReattachDefault_MovesDevicesToContext0_AndFrees()
    {
        // §3 free: with FREE_reattach_default the devices go back to context 0 and the number can be allocated again.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        Assert.Equal(0, dom0.Reattach(ctx, DefaultHost.Nic));
        Assert.Equal(0, dom0.Reattach(ctx, DefaultHost.Nvme));
        Assert.Equal(0, dom0.Free(ctx, FreeFlags.ReattachDefault));
        Assert.Equal(0, host.DeviceState(DefaultHost.Nic)!.Value.Context.Number);
        Assert.Equal(0, host.DeviceState(DefaultHost.Nvme)!.Value.Context.Number);
        Dma.AssertReaches(host, DefaultHost.Nic, dom0.FirstRamGfn + 9, new Mfn(dom0.FirstRamGfn + 9));
        Assert.Null(dom0.Domain.Iommu.Context(ctx));
        Assert.Equal((0, ctx), dom0.Alloc());
        host.AssertNoLeaks();
    }

    [Fact]
    public void Free_RemovesMappings_DropsReferences_ReturnsTablesToArena()
    {
        // §3 free: every mapping removed (dropping its page reference), page-table pages back to the arena.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        var gfn = dom0.FirstRamGfn;
        var references = host.Frames.CountOf(new Mfn(gfn + 3));
        dom0.MapOk(ctx, gfn, 0x1000, 600);
        dom0.MapOk(ctx, gfn, 0x80000, 512, pgsize: PageSizes.Size4K);
        dom0.MapOk(ctx, gfn + 3, 0x7000000, 5);
        Assert.Equal(references + 3, host.Frames.CountOf(new Mfn(gfn + 3)));
        Assert.True(dom0.Domain.Iommu.Arena!.InUse > 1);
        Assert.Equal(0, dom0.Free(ctx));
        Assert.Equal(references, host.Frames.CountOf(new Mfn(gfn + 3)));
        Assert.Equal(0, dom0.Domain.Iommu.Arena.InUse);
        host.AssertNoLeaks();
    }

    [Fact]
    public void Free_InvalidatesIotlb_NoStaleTranslation()
    {
        // §3 free: the IOTLB is invalidated for the context; the device, back in context 0, never uses the freed context's entries.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        Assert.Equal(0, dom0.Reattach(ctx, DefaultHost.Nic));
        dom0.MapOk(ctx, dom0.FirstRamGfn, 0x1000, 1);
        Dma.AssertReaches(host, DefaultHost.Nic, 0x1000, new Mfn(dom0.FirstRamGfn));
        var did = dom0.Ctx(ctx).HardwareDomainId;
        Assert.True(host.Machine.Units[0].Iotlb.TryLookup(did, 0x1000, out _));
        Assert.Equal(0, dom0.Free(ctx, FreeFlags.ReattachDefault));
        Assert.False(host.Machine.Units[0].Iotlb.TryLookup(did, 0x1000, out _));
        Dma.AssertFaults(host, DefaultHost.Nic, 0x1000);
        host.AssertNoLeaks();
    }

    [Fact]
    public void Free_ReattachDefault_GpuReservedRegionReachableInContext0()
    {
        // §3 free + §5: the GPU goes back to context 0 with its RMRR mapped 1:1 there.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        Assert.Equal(0, dom0.Reattach(ctx, DefaultHost.Gpu));
        Assert.Equal(0, dom0.Free(ctx, FreeFlags.ReattachDefault));
        var rmrr = DefaultHost.GpuRmrr.Start.Value;
        Dma.AssertReaches(host, DefaultHost.Gpu, rmrr + 3, new Mfn(rmrr + 3));
        Assert.Contains(DefaultHost.GpuRmrr, dom0.Ctx(0).ReservedRegions.Keys);
        host.AssertNoLeaks();
    }

    [Fact]
    public void Free_ReattachDefaultFailsForSecondDevice_NothingChanges()
    {
        // §3 free and §6 ("a failed call must change nothing"): the GPU's RMRR cannot be mapped back into
        // context 0 (its pool refuses a table), so the NIC, moved first, must not be left in context 0.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        Assert.Equal(0, dom0.Reattach(ctx, DefaultHost.Nic));
        Assert.Equal(0, dom0.Reattach(ctx, DefaultHost.Gpu));
        dom0.MapOk(ctx, dom0.FirstRamGfn, 0x1000, 3);
        dom0.Domain.Iommu.DefaultPool!.Faults.FailNth(1);
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.ENOMEM), dom0.Free(ctx, FreeFlags.ReattachDefault)));
        Dma.AssertReaches(host, DefaultHost.Nic, 0x1002, new Mfn(dom0.FirstRamGfn + 2));
        Assert.Equal(0, dom0.Free(ctx, FreeFlags.ReattachDefault));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Free_SuperpageContext_DropsEveryFrameReference()
    {
        // §3 free: superpage leaves (2 MiB, 1 GiB) drop one reference per 4 KiB frame.
        var host = SpecHosts.GigabyteHost();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        var gfn = SpecHosts.GigabyteGfn;
        var references = host.Frames.CountOf(new Mfn(gfn + 700));
        dom0.MapOk(ctx, gfn, 0x40000, 1, pgsize: PageSizes.Size1G);
        dom0.MapOk(ctx, gfn, 0x200, 2, pgsize: PageSizes.Size2M);
        Assert.Equal(references + 2, host.Frames.CountOf(new Mfn(gfn + 700)));
        Assert.Equal(references + 1, host.Frames.CountOf(new Mfn(gfn + 0x30000)));
        Assert.Equal(3, dom0.Ctx(ctx).Table.TryLookup(0x40000, out var leaf) ? leaf.Level : 0);
        Assert.Equal(0, dom0.Free(ctx));
        Assert.Equal(references, host.Frames.CountOf(new Mfn(gfn + 700)));
        Assert.Equal(references, host.Frames.CountOf(new Mfn(gfn + 0x30000)));
        host.AssertNoLeaks();
    }
}
