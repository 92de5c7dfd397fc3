using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Hypervisor.Tests.Support;
using PvIommu.Hypervisor.Toolstack;
using PvIommu.Platform.Memory;
using static PvIommu.Hypervisor.Tests.Support.Hosts;

namespace PvIommu.Hypervisor.Tests.Spec;

/// <summary>Spec §3 map_pages (6): the whole-call checks, the count, the leaf size and the invalidation.</summary>
public class MapPagesTests
{
    [Fact]
    public void Map_Success_CountsPages_DeviceReachesEachFrame()
    {
        // §3 map: nr_pages pages gfn → dfn, mapped counted.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        Assert.Equal(0, dom0.Reattach(ctx, DefaultHost.Nic));
        var gfn = dom0.FirstRamGfn + 100;
        var (ret, map) = dom0.Map(ctx, gfn, 0x1000, 4);
        Assert.Equal(0, ret);
        Assert.Equal(4u, map.Mapped);
        for (ulong i = 0; i < 4; i++)
        {
            Dma.AssertReaches(host, DefaultHost.Nic, 0x1000 + i, new Mfn(gfn + i));
        }

        Dma.AssertFaults(host, DefaultHost.Nic, 0x1004);
        Assert.Equal(4u, dom0.Unmap(ctx, 0x1000, 4).Out.Unmapped);
        Assert.Equal(0, dom0.Reattach(0, DefaultHost.Nic));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Map_Context0_ReturnsEINVAL_EvenForZeroPages()
    {
        // §3 map and §5: context 0 → -EINVAL.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        Assert.Equal(0, dom0.Init());
        HostState.AssertUnchangedBy(host, () =>
        {
            Assert.Equal(Err(XenErrno.EINVAL), dom0.Map(0, dom0.FirstRamGfn, 0x1000, 1).Ret);
            Assert.Equal(Err(XenErrno.EINVAL), dom0.Map(0, dom0.FirstRamGfn, 0x1000, 0).Ret);
        });
        host.AssertNoLeaks();
    }

    [Theory]
    [InlineData((ushort)2)]
    [InlineData((ushort)9)]
    [InlineData((ushort)0xFFFF)]
    public void Map_UnallocatedContext_ReturnsEINVAL(ushort ctx)
    {
        // §3 map: a context not allocated → -EINVAL (not -ENOENT, as upstream).
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        Assert.Equal(0, dom0.Init(8, 4));
        Assert.Equal(0, dom0.Alloc().Ret);
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.EINVAL), dom0.Map(ctx, dom0.FirstRamGfn, 0x1000, 1).Ret));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Map_BeforeInit_ReturnsEINVAL()
    {
        var host = Hosts.Default();
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.EINVAL), host.Dom0().Map(1, host.Dom0().FirstRamGfn, 0x1000, 1).Ret));
        host.AssertNoLeaks();
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(0x800u)]
    [InlineData(0x2000u)]
    [InlineData(0x1001u)]
    [InlineData(0x400000u)]
    [InlineData(0x80000000u)]
    [InlineData(0x40201000u)]
    public void Map_PgsizeNotInMask_ReturnsEINVAL_NothingChanges(uint pgsize)
    {
        // §3 map: pgsize not in pgsize_mask → -EINVAL (§6: upstream ignores pgsize).
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.EINVAL), dom0.Map(ctx, dom0.FirstRamGfn, 0, 1, pgsize: pgsize).Ret));
        host.AssertNoLeaks();
    }

    [Theory]
    [InlineData(0UL, 0x100UL, PageSizes.Size2M)]
    [InlineData(0x100UL, 0UL, PageSizes.Size2M)]
    [InlineData(0UL, 0x200UL, PageSizes.Size1G)]
    [InlineData(0x200UL, 0x40000UL, PageSizes.Size1G)]
    public void Map_GfnOrDfnNotAligned_ReturnsEINVAL_NothingChanges(ulong gfnOffset, ulong dfn, uint pgsize)
    {
        // §3 map: gfn and dfn must be aligned to pgsize.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.EINVAL), dom0.Map(ctx, dom0.FirstRamGfn + gfnOffset, dfn, 1, pgsize: pgsize).Ret));
        host.AssertNoLeaks();
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(4u)]
    [InlineData(8u)]
    [InlineData(12u)]
    [InlineData(0x13u)]
    [InlineData(0x8000_0003u)]
    public void Map_NoAccessOrUnknownFlag_ReturnsEINVAL_NothingChanges(uint flags)
    {
        // §3 map: no R and no W, or an unknown bit → -EINVAL (§6: upstream ignores unknown flags).
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.EINVAL), dom0.Map(ctx, dom0.FirstRamGfn, 0x1000, 1, (MapFlags)flags).Ret));
        host.AssertNoLeaks();
    }

    [Theory]
    [InlineData(1UL << 36, 1u)]
    [InlineData((1UL << 36) - 1, 2u)]
    [InlineData((1UL << 36) - 4, 0xFFFF_FFFFu)]
    [InlineData(ulong.MaxValue, 1u)]
    [InlineData(ulong.MaxValue - 1, 4u)]
    public void Map_RangeAboveMaxIova_ReturnsERANGE_NothingMapped(ulong dfn, uint pages)
    {
        // §3 map: any part of the range above max_iova_addr (2^48 − 1 here), or dfn + nr_pages overflowing → -ERANGE, before any page.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        HostState.AssertUnchangedBy(host, () =>
        {
            var (ret, map) = dom0.Map(ctx, dom0.FirstRamGfn, dfn, pages);
            Assert.Equal(Err(XenErrno.ERANGE), ret);
            Assert.Equal(0u, map.Mapped);
        });
        host.AssertNoLeaks();
    }

    [Fact]
    public void Map_LastPageBelowMaxIova_Succeeds()
    {
        // §3 map: the very last 4 KiB frame of the 48-bit space is in range.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        dom0.MapOk(ctx, dom0.FirstRamGfn, (1UL << 36) - 1, 1);
        Assert.Equal(dom0.FirstRamGfn, dom0.Lookup(ctx, (1UL << 36) - 1).Out.Gfn);

        // Freed before the audit: Host.Audit never ends while the last dfn is mapped (PageTable.TryNextMapped wraps past it).
        Assert.Equal(0, dom0.Free(ctx));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Map_FiveLevelHost_AcceptsDfnAbove48Bits_RejectsAbove57()
    {
        // §3 map and query: the width follows the tables (5-level: 57 bits).
        var host = DefaultHost.Create(new HostOptions { PhysicalCpus = 2 }, levels: 5);
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        Assert.Equal(0, dom0.Reattach(ctx, DefaultHost.Nic));
        dom0.MapOk(ctx, dom0.FirstRamGfn, 1UL << 36, 2);
        Dma.AssertReaches(host, DefaultHost.Nic, (1UL << 36) + 1, new Mfn(dom0.FirstRamGfn + 1));
        dom0.MapOk(ctx, dom0.FirstRamGfn, (1UL << 45) - 1, 1);
        Dma.AssertReaches(host, DefaultHost.Nic, (1UL << 45) - 1, new Mfn(dom0.FirstRamGfn));

        // Unmapped before the next audit: Host.Audit never ends while the last dfn is mapped (PageTable.TryNextMapped wraps past it).
        Assert.Equal(1u, dom0.Unmap(ctx, (1UL << 45) - 1, 1).Out.Unmapped);
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.ERANGE), dom0.Map(ctx, dom0.FirstRamGfn, 1UL << 45, 1).Ret));
        Assert.Equal(0, dom0.Free(ctx, FreeFlags.ReattachDefault));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Map_ZeroPages_ReturnsZero_NoChange_MappedUntouched()
    {
        // §3 map: nr_pages = 0 returns 0 and changes nothing; mapped keeps the caller's value.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        var invalidations = host.Counters.IotlbInvalidations;
        HostState.AssertUnchangedBy(host, () =>
        {
            var (ret, map) = dom0.Call(SubOp.MapPages, new MapPages { CtxNo = ctx, Gfn = dom0.FirstRamGfn, Dfn = 0x1000, MapFlags = Guest.RW, Pgsize = PageSizes.Size4K, Mapped = 7 });
            Assert.Equal(0, ret);
            Assert.Equal(7u, map.Mapped);
        });
        Assert.Equal(invalidations, host.Counters.IotlbInvalidations);
        host.AssertNoLeaks();
    }

    [Fact]
    public void Map_MappedAccumulatesFromCallerValue()
    {
        // §3 map: mapped is increased from the value the caller passed.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        var (ret, map) = dom0.Call(SubOp.MapPages, new MapPages { CtxNo = ctx, Gfn = dom0.FirstRamGfn, Dfn = 0x1000, NrPages = 4, MapFlags = Guest.RW, Pgsize = PageSizes.Size4K, Mapped = 5 });
        Assert.Equal(0, ret);
        Assert.Equal(9u, map.Mapped);
        Assert.Equal(4, dom0.Ctx(ctx).MappedFrames);
        Assert.Equal(0, dom0.Free(ctx));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Map_AlignedContiguousRun_UsesLargestLeaf()
    {
        // §3 map: "the hardware PTE is the largest one that fits": 2 MiB and 1 GiB leaves where dfn and mfn are aligned.
        var host = SpecHosts.GigabyteHost();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        var gfn = SpecHosts.GigabyteGfn;
        dom0.MapOk(ctx, gfn, 0x200, 1024);
        Assert.Equal(PageSizes.Size2M, dom0.Lookup(ctx, 0x200 + 700).Out.Pgsize);
        Assert.Equal(gfn + 700, dom0.Lookup(ctx, 0x200 + 700).Out.Gfn);
        dom0.MapOk(ctx, gfn, 0x40000, 1, pgsize: PageSizes.Size1G);
        Assert.Equal(PageSizes.Size1G, dom0.Lookup(ctx, 0x40000 + 0x12345).Out.Pgsize);
        dom0.MapOk(ctx, gfn + 0x400, 0x80000, 2, pgsize: PageSizes.Size2M);
        Assert.Equal(PageSizes.Size2M, dom0.Lookup(ctx, 0x80000 + 513).Out.Pgsize);
        dom0.MapOk(ctx, gfn + 0x200, 0xC0200, 512);
        Assert.Equal(PageSizes.Size2M, dom0.Lookup(ctx, 0xC0200).Out.Pgsize);
        dom0.MapOk(ctx, gfn, 0x100000, 0x3FFFF);
        Assert.Equal(PageSizes.Size2M, dom0.Lookup(ctx, 0x100000).Out.Pgsize);
        Assert.Equal(PageSizes.Size4K, dom0.Lookup(ctx, 0x13FFFE).Out.Pgsize);
        Assert.Equal(0, dom0.Free(ctx));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Map_MisalignedOrDiscontiguous_Uses4KLeaves()
    {
        // §3 map: "else 4 KiB leaves": dfn aligned but mfn not.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        dom0.MapOk(ctx, dom0.FirstRamGfn + 1, 0x200, 512);
        Assert.Equal(PageSizes.Size4K, dom0.Lookup(ctx, 0x200).Out.Pgsize);
        Assert.Equal(PageSizes.Size4K, dom0.Lookup(ctx, 0x3FF).Out.Pgsize);
        Assert.Equal(512, dom0.Ctx(ctx).MappedFrames);
        Assert.Equal(0, dom0.Free(ctx));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Map_Pgsize2M_CountsLargePages()
    {
        // §3 map: mapped counts pgsize pages, not 4 KiB frames.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        var (ret, map) = dom0.Map(ctx, dom0.FirstRamGfn, 0x1000, 3, pgsize: PageSizes.Size2M);
        Assert.Equal(0, ret);
        Assert.Equal(3u, map.Mapped);
        Assert.Equal(3 * 512, dom0.Ctx(ctx).MappedFrames);
        Assert.Equal(0, dom0.Free(ctx));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Map_Default_IssuesOneRangedInvalidation()
    {
        // §3 map: "one ranged IOTLB invalidation covers the pages this invocation changed".
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        var before = host.Counters.IotlbInvalidations;
        dom0.MapOk(ctx, dom0.FirstRamGfn + 1, 0x1000, 300);
        Assert.Equal(before + 1, host.Counters.IotlbInvalidations);
        Assert.Equal(0, dom0.Free(ctx));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Map_NoFlush_IssuesNoInvalidation_FlushPagesDoes()
    {
        // §3 map: with MAP_no_flush the caller must call flush_pages before relying on the mappings.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        Assert.Equal(0, dom0.Reattach(ctx, DefaultHost.Nic));
        var before = host.Counters.IotlbInvalidations;
        dom0.MapOk(ctx, dom0.FirstRamGfn, 0x1000, 8, Guest.RW | MapFlags.NoFlush);
        Assert.Equal(before, host.Counters.IotlbInvalidations);
        Assert.Equal(0, dom0.Flush(ctx, 0x1000, 8));
        Assert.Equal(before + 1, host.Counters.IotlbInvalidations);
        Dma.AssertReaches(host, DefaultHost.Nic, 0x1007, new Mfn(dom0.FirstRamGfn + 7));
        Assert.Equal(0, dom0.Free(ctx, FreeFlags.ReattachDefault));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Map_CacheFlag_Honoured()
    {
        // §2 cap bit 1 and §3 lookup: MAP_cache is kept in the leaf and reported back.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        dom0.MapOk(ctx, dom0.FirstRamGfn, 0x1000, 1, Guest.RW | MapFlags.Cache);
        dom0.MapOk(ctx, dom0.FirstRamGfn, 0x1001, 1);
        Assert.Equal(Guest.RW | MapFlags.Cache, dom0.Lookup(ctx, 0x1000).Out.MapFlags);
        Assert.Equal(Guest.RW, dom0.Lookup(ctx, 0x1001).Out.MapFlags);
        Assert.Equal(0, dom0.Free(ctx));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Map_ReadOnlyOrWriteOnly_DeviceRightsFollowFlags()
    {
        // §3 map: R and W flags are the device's rights.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        Assert.Equal(0, dom0.Reattach(ctx, DefaultHost.Nic));
        dom0.MapOk(ctx, dom0.FirstRamGfn, 0x1000, 1, MapFlags.Readable);
        dom0.MapOk(ctx, dom0.FirstRamGfn + 1, 0x1001, 1, MapFlags.Writeable);
        Dma.AssertFaults(host, DefaultHost.Nic, 0x1000, Platform.Iommu.FaultReason.WriteNotPermitted);
        Assert.True(Dma.Read(host, DefaultHost.Nic, 0x1000).IsOk);
        Dma.AssertReaches(host, DefaultHost.Nic, 0x1001, new Mfn(dom0.FirstRamGfn + 1));
        Assert.Equal(Platform.Iommu.FaultReason.ReadNotPermitted, Dma.Read(host, DefaultHost.Nic, 0x1001).Reason);
        Assert.Equal(0, dom0.Free(ctx, FreeFlags.ReattachDefault));
        host.AssertNoLeaks();
    }
}
