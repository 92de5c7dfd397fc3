using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Hypervisor.Tests.Support;
using PvIommu.Hypervisor.Toolstack;
using PvIommu.Platform.Memory;
using static PvIommu.Hypervisor.Tests.Support.Hosts;

namespace PvIommu.Hypervisor.Tests.Spec;

/// <summary>Spec §3 unmap_pages (7).</summary>
public class UnmapPagesTests
{
    private static ulong Rmrr => DefaultHost.GpuRmrr.Start.Value;

    [Fact]
    public void Unmap_AfterReturn_DeviceFaults_EvenWithCachedTranslation()
    {
        // §3 unmap: the IOTLB is always invalidated before the call returns; no device can use the old translation.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        Assert.Equal(0, dom0.Reattach(ctx, DefaultHost.Nic));
        dom0.MapOk(ctx, dom0.FirstRamGfn, 0x1000, 4);
        Dma.AssertReaches(host, DefaultHost.Nic, 0x1001, new Mfn(dom0.FirstRamGfn + 1));
        Assert.True(host.Machine.Units[0].Iotlb.TryLookup(dom0.Ctx(ctx).HardwareDomainId, 0x1001, out _));
        var before = host.Counters.IotlbInvalidations;
        var (ret, unmap) = dom0.Unmap(ctx, 0x1000, 4);
        Assert.Equal(0, ret);
        Assert.Equal(4u, unmap.Unmapped);
        Assert.Equal(before + 1, host.Counters.IotlbInvalidations);
        Dma.AssertFaults(host, DefaultHost.Nic, 0x1001);
        Assert.Equal(Err(XenErrno.ENOENT), dom0.Lookup(ctx, 0x1001).Ret);
        Assert.Equal(0, dom0.Free(ctx, FreeFlags.ReattachDefault));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Unmap_Context0_ReturnsEINVAL()
    {
        // §3 unmap ("context checks as for map") and §5.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.EINVAL), dom0.Unmap(0, dom0.FirstRamGfn, 1).Ret));
        host.AssertNoLeaks();
    }

    [Theory]
    [InlineData((ushort)2)]
    [InlineData((ushort)0xFFFF)]
    public void Unmap_UnallocatedContext_ReturnsEINVAL(ushort ctx)
    {
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        Assert.Equal(0, dom0.Init(4, 4));
        Assert.Equal(0, dom0.Alloc().Ret);
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.EINVAL), dom0.Unmap(ctx, 0x1000, 1).Ret));
        host.AssertNoLeaks();
    }

    [Theory]
    [InlineData(0x2000u, 0x1000UL, XenErrno.EINVAL)]
    [InlineData(PageSizes.Size2M, 0x1001UL, XenErrno.EINVAL)]
    [InlineData(PageSizes.Size1G, 0x200UL, XenErrno.EINVAL)]
    [InlineData(PageSizes.Size4K, 1UL << 36, XenErrno.ERANGE)]
    [InlineData(PageSizes.Size2M, (1UL << 36) - 512, XenErrno.ERANGE)]
    public void Unmap_BadShape_ReturnsErrno_NothingChanges(uint pgsize, ulong dfn, XenErrno errno)
    {
        // §3 unmap: "pgsize checks as for map": mask, alignment, range.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        dom0.MapOk(ctx, dom0.FirstRamGfn, 0x1000, 1);
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(errno), dom0.Unmap(ctx, dfn, 2, pgsize).Ret));
        Assert.Equal(0, dom0.Free(ctx));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Unmap_Hole_ReturnsENOENT_UnmappedCountsPagesBefore()
    {
        // §3 unmap: not mapped → -ENOENT with unmapped counting the pages done before; those stay unmapped.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        dom0.MapOk(ctx, dom0.FirstRamGfn, 0x1000, 3);
        dom0.MapOk(ctx, dom0.FirstRamGfn, 0x1004, 1);
        var (ret, unmap) = dom0.Unmap(ctx, 0x1000, 5);
        Assert.Equal(Err(XenErrno.ENOENT), ret);
        Assert.Equal(3u, unmap.Unmapped);
        Assert.Equal(1, dom0.Ctx(ctx).MappedFrames);
        Assert.Equal(0, dom0.Lookup(ctx, 0x1004).Ret);
        host.AssertNoLeaks();
        Assert.Equal(0, dom0.Free(ctx));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Unmap_NothingMapped_ReturnsENOENT_NothingChanges()
    {
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        HostState.AssertUnchangedBy(host, () =>
        {
            var (ret, unmap) = dom0.Unmap(ctx, 0x1000, 1);
            Assert.Equal(Err(XenErrno.ENOENT), ret);
            Assert.Equal(0u, unmap.Unmapped);
        });
        host.AssertNoLeaks();
    }

    [Fact]
    public void Unmap_UnmappedAccumulatesFromCallerValue()
    {
        // §3 unmap with §4: unmapped increases from the caller's value, like mapped.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        dom0.MapOk(ctx, dom0.FirstRamGfn, 0x1000, 3);
        var (ret, unmap) = dom0.Call(SubOp.UnmapPages, new UnmapPages { CtxNo = ctx, Dfn = 0x1000, NrPages = 3, Pgsize = PageSizes.Size4K, Unmapped = 10 });
        Assert.Equal(0, ret);
        Assert.Equal(13u, unmap.Unmapped);
        Assert.Equal(0, dom0.Free(ctx));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Unmap_RunsIntoReservedRegion_ReturnsEADDRNOTAVAIL_RegionIntact()
    {
        // §3 unmap: a frame inside a reserved region → -EADDRNOTAVAIL; pages before it are unmapped and counted.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        Assert.Equal(0, dom0.Reattach(ctx, DefaultHost.Gpu));
        dom0.MapOk(ctx, dom0.FirstRamGfn, Rmrr - 2, 2);
        var (ret, unmap) = dom0.Unmap(ctx, Rmrr - 2, 4);
        Assert.Equal(Err(XenErrno.EADDRNOTAVAIL), ret);
        Assert.Equal(2u, unmap.Unmapped);
        Assert.Equal((long)DefaultHost.GpuRmrr.Frames, dom0.Ctx(ctx).MappedFrames);
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.EADDRNOTAVAIL), dom0.Unmap(ctx, Rmrr + 15, 1).Ret));
        Dma.AssertReaches(host, DefaultHost.Gpu, Rmrr, new Mfn(Rmrr));
        Assert.Equal(0, dom0.Free(ctx, FreeFlags.ReattachDefault));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Unmap_DropsReferences()
    {
        // §3 map: the reference is held "until it is unmapped".
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        var mfn = new Mfn(dom0.FirstRamGfn + 2);
        var references = host.Frames.CountOf(mfn);
        dom0.MapOk(ctx, dom0.FirstRamGfn, 0x1000, 4);
        Assert.Equal(references + 1, host.Frames.CountOf(mfn));
        Assert.Equal(4u, dom0.Unmap(ctx, 0x1000, 4).Out.Unmapped);
        Assert.Equal(references, host.Frames.CountOf(mfn));
        Assert.Equal(0, dom0.Free(ctx));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Unmap_PartOfSuperpage_Splits_RestStaysMapped()
    {
        // §3 unmap: unmapping part of a superpage splits it (one arena page).
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        Assert.Equal(0, dom0.Reattach(ctx, DefaultHost.Nic));
        var gfn = dom0.FirstRamGfn;
        dom0.MapOk(ctx, gfn, 0x200, 512);
        Assert.Equal(PageSizes.Size2M, dom0.Lookup(ctx, 0x205).Out.Pgsize);
        Dma.AssertReaches(host, DefaultHost.Nic, 0x205, new Mfn(gfn + 5));
        var arena = dom0.Domain.Iommu.Arena!.InUse;
        Assert.Equal(1u, dom0.Unmap(ctx, 0x205, 1).Out.Unmapped);
        Assert.Equal(arena + 1, dom0.Domain.Iommu.Arena.InUse);
        Assert.Equal(Err(XenErrno.ENOENT), dom0.Lookup(ctx, 0x205).Ret);
        var (ret, look) = dom0.Lookup(ctx, 0x204);
        Assert.Equal(0, ret);
        Assert.Equal(gfn + 4, look.Gfn);
        Assert.Equal(PageSizes.Size4K, look.Pgsize);
        Assert.Equal(511, dom0.Ctx(ctx).MappedFrames);
        Dma.AssertFaults(host, DefaultHost.Nic, 0x205);
        Dma.AssertReaches(host, DefaultHost.Nic, 0x3FF, new Mfn(gfn + 0x1FF));
        host.AssertNoLeaks();
        Assert.Equal(0, dom0.Free(ctx, FreeFlags.ReattachDefault));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Unmap_SplitWithoutArenaPage_ReturnsENOMEM_SuperpageIntact()
    {
        // §3 unmap: the split needs an arena page; none → -ENOMEM, unmapped tells how far it got (0), nothing changed.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        Assert.Equal(0, dom0.Reattach(ctx, DefaultHost.Nic));
        dom0.MapOk(ctx, dom0.FirstRamGfn, 0x200, 512);
        dom0.Domain.Iommu.Arena!.Faults.FailNth(1);
        HostState.AssertUnchangedBy(host, () =>
        {
            var (ret, unmap) = dom0.Unmap(ctx, 0x205, 1);
            Assert.Equal(Err(XenErrno.ENOMEM), ret);
            Assert.Equal(0u, unmap.Unmapped);
        });
        Assert.Equal(PageSizes.Size2M, dom0.Lookup(ctx, 0x205).Out.Pgsize);
        Dma.AssertReaches(host, DefaultHost.Nic, 0x205, new Mfn(dom0.FirstRamGfn + 5));
        Assert.Equal(0, dom0.Free(ctx, FreeFlags.ReattachDefault));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Unmap_SplitFailsAfterSomePages_UnmappedTellsHowFar()
    {
        // §3 unmap: "-ENOMEM, and unmapped tells how far it got".
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        var gfn = dom0.FirstRamGfn;
        dom0.MapOk(ctx, gfn + 1, 0x1FE, 2);
        dom0.MapOk(ctx, gfn + 0x200, 0x200, 512);
        dom0.Domain.Iommu.Arena!.Faults.FailNth(1);
        var (ret, unmap) = dom0.Unmap(ctx, 0x1FE, 3);
        Assert.Equal(Err(XenErrno.ENOMEM), ret);
        Assert.Equal(2u, unmap.Unmapped);
        Assert.Equal(512, dom0.Ctx(ctx).MappedFrames);
        host.AssertNoLeaks();
        Assert.Equal(0, dom0.Free(ctx));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Unmap_WholeSuperpageIn4KPages_TakesNoArenaPage()
    {
        // §3 unmap: only unmapping *part* of a superpage splits it; 512 4 KiB pages covering a 2 MiB leaf
        // (more than one 256-frame slice) remove it whole, even when the arena refuses every page.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        Assert.Equal(0, dom0.Reattach(ctx, DefaultHost.Nic));
        dom0.MapOk(ctx, dom0.FirstRamGfn, 0x200, 512);
        dom0.MapOk(ctx, dom0.FirstRamGfn, 0x400, 1);
        Assert.Equal(PageSizes.Size2M, dom0.Lookup(ctx, 0x200).Out.Pgsize);
        Dma.AssertReaches(host, DefaultHost.Nic, 0x3FF, new Mfn(dom0.FirstRamGfn + 0x1FF));
        var arena = dom0.Domain.Iommu.Arena!;
        var inUse = arena.InUse;
        arena.Faults.FailNth(1);
        var (ret, unmap) = dom0.Unmap(ctx, 0x200, 512);
        Assert.Equal(0, ret);
        Assert.Equal(512u, unmap.Unmapped);
        Assert.Equal(1, dom0.Ctx(ctx).MappedFrames);
        Assert.True(arena.InUse <= inUse);
        Dma.AssertFaults(host, DefaultHost.Nic, 0x3FF);
        Assert.Equal(0, dom0.Free(ctx, FreeFlags.ReattachDefault));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Unmap_WholeGigabyteLeafIn2MPages_TakesNoArenaPage()
    {
        // §3 unmap: the same for a 1 GiB leaf unmapped as 512 pages of 2 MiB.
        var host = SpecHosts.GigabyteHost();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        dom0.MapOk(ctx, SpecHosts.GigabyteGfn, 0x40000, 1, pgsize: PageSizes.Size1G);
        dom0.Domain.Iommu.Arena!.Faults.FailNth(1);
        var (ret, unmap) = dom0.Unmap(ctx, 0x40000, 512, PageSizes.Size2M);
        Assert.Equal(0, ret);
        Assert.Equal(512u, unmap.Unmapped);
        Assert.Equal(0, dom0.Ctx(ctx).MappedFrames);
        Assert.Equal(0, dom0.Free(ctx));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Unmap_EmptyTablesReturnToArena()
    {
        // §3 unmap: "Page tables left empty go back to the arena".
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        var arena = dom0.Domain.Iommu.Arena!;
        Assert.Equal(1, arena.InUse);
        dom0.MapOk(ctx, dom0.FirstRamGfn + 1, 0x123456789, 3);
        Assert.Equal(4, arena.InUse);
        Assert.Equal(3u, dom0.Unmap(ctx, 0x123456789, 3).Out.Unmapped);
        Assert.Equal(1, arena.InUse);
        Assert.Equal(0, dom0.Free(ctx));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Unmap_Pgsize2M_OfLargeOrSmallLeaves()
    {
        // §3 unmap: nr_pages pages of pgsize, whatever leaves map them.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        dom0.MapOk(ctx, dom0.FirstRamGfn, 0x200, 1, pgsize: PageSizes.Size2M);
        dom0.MapOk(ctx, dom0.FirstRamGfn + 1, 0x400, 512);
        var (ret, unmap) = dom0.Unmap(ctx, 0x200, 2, PageSizes.Size2M);
        Assert.Equal(0, ret);
        Assert.Equal(2u, unmap.Unmapped);
        Assert.Equal(0, dom0.Ctx(ctx).MappedFrames);
        Assert.Equal(0, dom0.Free(ctx));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Unmap_Pgsize2M_PageWithHole_ReturnsENOENT_PageUntouched()
    {
        // §3 unmap: a pgsize page that is not fully mapped → -ENOENT; the page's other frames stay.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        dom0.MapOk(ctx, dom0.FirstRamGfn, 0x200, 1, pgsize: PageSizes.Size2M);
        dom0.MapOk(ctx, dom0.FirstRamGfn + 1, 0x400, 511);
        var (ret, unmap) = dom0.Unmap(ctx, 0x200, 2, PageSizes.Size2M);
        Assert.Equal(Err(XenErrno.ENOENT), ret);
        Assert.Equal(1u, unmap.Unmapped);
        Assert.Equal(511, dom0.Ctx(ctx).MappedFrames);
        Assert.Equal(0, dom0.Free(ctx));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Unmap_ZeroPages_ReturnsZero_NothingChanges()
    {
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        HostState.AssertUnchangedBy(host, () => Assert.Equal(0, dom0.Unmap(ctx, 0x1000, 0).Ret));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Unmap_MmioFrame_DropsNoReference()
    {
        // §6 row 7: upstream drops a reference even for MMIO frames that took none; here references balance exactly.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        dom0.MapOk(ctx, 0xF0010, 0x1000, 2);
        Assert.Equal(2u, dom0.Unmap(ctx, 0x1000, 2).Out.Unmapped);
        Assert.Equal(0, host.Frames.CountOf(new Mfn(0xF0010)));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Unmap_StopsOnError_StillInvalidatesWhatItUnmapped()
    {
        // §3 unmap: the invalidation covers the unmapped range also when the call stops with an error.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        Assert.Equal(0, dom0.Reattach(ctx, DefaultHost.Nic));
        dom0.MapOk(ctx, dom0.FirstRamGfn, 0x1000, 2);
        Dma.AssertReaches(host, DefaultHost.Nic, 0x1000, new Mfn(dom0.FirstRamGfn));
        Assert.Equal(Err(XenErrno.ENOENT), dom0.Unmap(ctx, 0x1000, 3).Ret);
        Dma.AssertFaults(host, DefaultHost.Nic, 0x1000);
        Assert.Equal(0, dom0.Free(ctx, FreeFlags.ReattachDefault));
        host.AssertNoLeaks();
    }
}
