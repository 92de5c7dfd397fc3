using PvIommu.Abi;
using PvIommu.Hypervisor.Domains;
using PvIommu.Hypervisor.Tests.Support;
using PvIommu.Hypervisor.Toolstack;
using PvIommu.Platform.Memory;
using static PvIommu.Hypervisor.Tests.Support.Hosts;

namespace PvIommu.Hypervisor.Tests.Spec;

/// <summary>Spec §3 map_pages (6): the per-frame checks, in order, partial progress and page references.</summary>
public class MapPagesFrameTests
{
    private static ulong Rmrr => DefaultHost.GpuRmrr.Start.Value;

    [Fact]
    public void Map_RunsIntoReservedRegion_ReturnsEADDRNOTAVAIL_EarlierPagesStay()
    {
        // §3 map: a frame inside a reserved region of the context → -EADDRNOTAVAIL; pages before it stay mapped and counted (§6: every frame is checked).
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        Assert.Equal(0, dom0.Reattach(ctx, DefaultHost.Gpu));
        var gfn = dom0.FirstRamGfn + 40;
        var (ret, map) = dom0.Map(ctx, gfn, Rmrr - 2, 4);
        Assert.Equal(Err(XenErrno.EADDRNOTAVAIL), ret);
        Assert.Equal(2u, map.Mapped);
        Assert.Equal(gfn + 1, dom0.Lookup(ctx, Rmrr - 1).Out.Gfn);
        Assert.Equal(Rmrr, dom0.Lookup(ctx, Rmrr).Out.Gfn);
        Dma.AssertReaches(host, DefaultHost.Gpu, Rmrr, new Mfn(Rmrr));
        Dma.AssertReaches(host, DefaultHost.Gpu, Rmrr - 2, new Mfn(gfn));
        host.AssertNoLeaks();
        Assert.Equal(2u, dom0.Unmap(ctx, Rmrr - 2, 2).Out.Unmapped);
        Assert.Equal(0, dom0.Free(ctx, FreeFlags.ReattachDefault));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Map_BaseInReservedRegion_ReturnsEADDRNOTAVAIL_NothingMapped()
    {
        // §3 map: the first frame is reserved; the check comes before the gfn checks (the gfn here is not even backed).
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        Assert.Equal(0, dom0.Reattach(ctx, DefaultHost.Gpu));
        HostState.AssertUnchangedBy(host, () =>
        {
            Assert.Equal(Err(XenErrno.EADDRNOTAVAIL), dom0.Map(ctx, dom0.FirstRamGfn, Rmrr + 5, 1).Ret);
            Assert.Equal(Err(XenErrno.EADDRNOTAVAIL), dom0.Map(ctx, 0x10, Rmrr, 1).Ret);
        });
        Assert.Equal(0, dom0.Free(ctx, FreeFlags.ReattachDefault));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Map_ReservedRegionOfADeviceElsewhere_IsFreeInThisContext()
    {
        // §3 map: only the reserved regions of this context's devices are refused.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        dom0.MapOk(ctx, dom0.FirstRamGfn, Rmrr, 2);
        Assert.Equal(0, dom0.Free(ctx));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Map_GfnNotBacked_ReturnsENOENT_PartialCounted()
    {
        // §3 map: gfn not backed → -ENOENT; pages before it stay mapped and counted.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        var last = dom0.FirstRamGfn + (ulong)dom0.Domain.P2m.RamFrames - 1;
        var (ret, map) = dom0.Map(ctx, last - 1, 0x1000, 4);
        Assert.Equal(Err(XenErrno.ENOENT), ret);
        Assert.Equal(2u, map.Mapped);
        Assert.Equal(2, dom0.Ctx(ctx).MappedFrames);
        Assert.Equal(last, dom0.Lookup(ctx, 0x1001).Out.Gfn);
        host.AssertNoLeaks();
        Assert.Equal(0, dom0.Free(ctx));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Map_PvhGfnNotBacked_ReturnsENOENT_NothingChanges()
    {
        // §3 map: a PVH domain's gfns are its p2m's; a hole is -ENOENT.
        var host = Hosts.Default();
        var domU = host.DomUOn();
        var ctx = domU.InitAndAlloc(2, 4);
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.ENOENT), domU.Map(ctx, 0x10000, 0x1000, 1).Ret));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Map_ForeignFrame_NonHardwareDomain_ReturnsEPERM_PartialCounted()
    {
        // §3 map: RAM owned by another domain and the caller is not the hardware domain → -EPERM, no reference kept.
        var host = Hosts.Default();
        var domU = host.DomUOn();
        var ctx = domU.InitAndAlloc(2, 4);
        var dom0Frame = new Mfn(host.Dom0().FirstRamGfn + 77);
        var references = host.Frames.CountOf(dom0Frame);
        domU.Domain.P2m.Set(0x10000, new P2mEntry(dom0Frame, P2mType.Foreign));
        var (ret, map) = domU.Map(ctx, 0xFFFE, 0x1000, 4);
        Assert.Equal(Err(XenErrno.EPERM), ret);
        Assert.Equal(2u, map.Mapped);
        Assert.Equal(references, host.Frames.CountOf(dom0Frame));
        Assert.Equal(Err(XenErrno.ENOENT), domU.Lookup(ctx, 0x1002).Ret);
        host.AssertNoLeaks();
        domU.Domain.P2m.Remove(0x10000);
        Assert.Equal(0, domU.Free(ctx));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Map_ForeignFrame_HardwareDomain_TakesReference()
    {
        // §3 map: the hardware domain may map another domain's RAM (a grant or foreign mapping); it holds a reference.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var domU = host.DomU();
        var ctx = dom0.InitAndAlloc();
        Assert.Equal(0, dom0.Reattach(ctx, DefaultHost.Nic));
        var foreign = domU.MfnOf(5);
        var references = host.Frames.CountOf(foreign);
        dom0.Domain.P2m.Set(foreign.Value, new P2mEntry(foreign, P2mType.Foreign));
        dom0.MapOk(ctx, foreign.Value, 0x1000, 1);
        Assert.Equal(references + 1, host.Frames.CountOf(foreign));
        Dma.AssertReaches(host, DefaultHost.Nic, 0x1000, foreign);
        host.AssertNoLeaks();
        Assert.Equal(1u, dom0.Unmap(ctx, 0x1000, 1).Out.Unmapped);
        Assert.Equal(references, host.Frames.CountOf(foreign));
        dom0.Domain.P2m.Remove(foreign.Value);
        Assert.Equal(0, dom0.Free(ctx, FreeFlags.ReattachDefault));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Map_ForeignFrameOfDestroyedDomain_StaysAllocatedUntilUnmapped()
    {
        // §3 map: "a device can never reach a frame that was freed and reused": the mapping's reference outlives the owner.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        Assert.Equal(0, dom0.Reattach(ctx, DefaultHost.Nic));
        var foreign = host.DomU().MfnOf(5);
        dom0.Domain.P2m.Set(foreign.Value, new P2mEntry(foreign, P2mType.Foreign));
        dom0.MapOk(ctx, foreign.Value, 0x1000, 1);
        SpecHosts.Ok(host.DestroyDomain(1));
        Assert.Equal(1, host.Frames.CountOf(foreign));
        Dma.AssertReaches(host, DefaultHost.Nic, 0x1000, foreign);
        host.AssertNoLeaks();
        var freed = host.Counters.FramesFreedByLastReference;
        Assert.Equal(1u, dom0.Unmap(ctx, 0x1000, 1).Out.Unmapped);
        Assert.Equal(0, host.Frames.CountOf(foreign));
        Assert.Equal(freed + 1, host.Counters.FramesFreedByLastReference);
        Dma.AssertFaults(host, DefaultHost.Nic, 0x1000);
        dom0.Domain.P2m.Remove(foreign.Value);
        Assert.Equal(0, dom0.Free(ctx, FreeFlags.ReattachDefault));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Map_ReadOnlyP2mWithWrite_ReturnsEPERM_ReadOnlyMapAllowed()
    {
        // §3 map: a read-only p2m type with W requested → -EPERM; R alone is fine.
        var host = Hosts.Default();
        var domU = host.DomUOn();
        var ctx = domU.InitAndAlloc(2, 4);
        domU.Domain.P2m.Set(0x42, new P2mEntry(domU.MfnOf(0x42), P2mType.RamReadOnly));
        var (ret, map) = domU.Map(ctx, 0x41, 0x1000, 2);
        Assert.Equal(Err(XenErrno.EPERM), ret);
        Assert.Equal(1u, map.Mapped);
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.EPERM), domU.Map(ctx, 0x42, 0x2000, 1, MapFlags.Writeable).Ret));
        domU.MapOk(ctx, 0x42, 0x1001, 1, MapFlags.Readable);
        Assert.Equal(MapFlags.Readable, domU.Lookup(ctx, 0x1001).Out.MapFlags);
        Assert.Equal(0, domU.Free(ctx));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Map_DfnAlreadyMapped_ReturnsEADDRINUSE_PartialCounted_OriginalKept()
    {
        // §3 map: dfn already mapped → -EADDRINUSE; pages before it stay; the existing mapping is untouched.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        var gfn = dom0.FirstRamGfn;
        dom0.MapOk(ctx, gfn + 50, 0x1002, 1);
        var (ret, map) = dom0.Map(ctx, gfn, 0x1000, 4);
        Assert.Equal(Err(XenErrno.EADDRINUSE), ret);
        Assert.Equal(2u, map.Mapped);
        Assert.Equal(gfn + 1, dom0.Lookup(ctx, 0x1001).Out.Gfn);
        Assert.Equal(gfn + 50, dom0.Lookup(ctx, 0x1002).Out.Gfn);
        Assert.Equal(Err(XenErrno.ENOENT), dom0.Lookup(ctx, 0x1003).Ret);
        host.AssertNoLeaks();
        Assert.Equal(0, dom0.Free(ctx));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Map_DfnInsideExistingSuperpage_ReturnsEADDRINUSE_NothingChanges()
    {
        // §3 map: a dfn covered by a 2 MiB leaf is mapped.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        dom0.MapOk(ctx, dom0.FirstRamGfn, 0x200, 1, pgsize: PageSizes.Size2M);
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.EADDRINUSE), dom0.Map(ctx, dom0.FirstRamGfn + 0x1000, 0x300, 1).Ret));
        Assert.Equal(0, dom0.Free(ctx));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Map_ArenaExhausted_ReturnsENOMEM_PartialCounted()
    {
        // §3 map: no arena page for a needed table → -ENOMEM; the pages mapped before stay and are counted.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc(2, 2);
        var gfn = dom0.FirstRamGfn;
        dom0.MapOk(ctx, gfn + 100, 0, 1);
        Assert.Equal(4, dom0.Domain.Iommu.Arena!.InUse);
        var (ret, map) = dom0.Map(ctx, gfn + 10, 510, 4);
        Assert.Equal(Err(XenErrno.ENOMEM), ret);
        Assert.Equal(2u, map.Mapped);
        Assert.Equal(gfn + 11, dom0.Lookup(ctx, 511).Out.Gfn);
        Assert.Equal(Err(XenErrno.ENOENT), dom0.Lookup(ctx, 512).Ret);
        host.AssertNoLeaks();
        Assert.Equal(0, dom0.Free(ctx));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Map_ArenaRefusesFirstTable_ReturnsENOMEM_NothingChanges()
    {
        // §3 map: -ENOMEM before any page; the half-built path goes back to the arena.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        for (var n = 1; n <= 3; n++)
        {
            dom0.Domain.Iommu.Arena!.Faults.FailNth(n);
            HostState.AssertUnchangedBy(host, () =>
            {
                var (ret, map) = dom0.Map(ctx, dom0.FirstRamGfn, 0x1000, 3);
                Assert.Equal(Err(XenErrno.ENOMEM), ret);
                Assert.Equal(0u, map.Mapped);
            });
        }

        dom0.MapOk(ctx, dom0.FirstRamGfn, 0x1000, 3);
        Assert.Equal(0, dom0.Free(ctx));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Map_MmioFrame_MapsWithoutReference_UnmapBalances()
    {
        // §3 map: MMIO frames the domain may access map without a reference; §6: references balance exactly on unmap.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        Assert.Equal(0, dom0.Reattach(ctx, DefaultHost.Nic));
        dom0.MapOk(ctx, 0xF0000, 0x1000, 4);
        Assert.Equal(0, host.Frames.CountOf(new Mfn(0xF0000)));
        Dma.AssertReaches(host, DefaultHost.Nic, 0x1003, new Mfn(0xF0003));
        host.AssertNoLeaks();
        Assert.Equal(4u, dom0.Unmap(ctx, 0x1000, 4).Out.Unmapped);
        Assert.Equal(0, host.Frames.CountOf(new Mfn(0xF0000)));
        Assert.Equal(0, dom0.Free(ctx, FreeFlags.ReattachDefault));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Map_RamAndMmioInOneCall_OnlyRamHoldsReferences()
    {
        // §3 map: per frame, RAM takes a reference and MMIO does not.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        var gfn = 0xF0000UL - 2;
        dom0.Domain.P2m.Set(gfn, new P2mEntry(new Mfn(dom0.FirstRamGfn + 3), P2mType.Foreign));
        var references = host.Frames.CountOf(new Mfn(dom0.FirstRamGfn + 3));
        var (ret, map) = dom0.Map(ctx, gfn, 0x1000, 4);
        Assert.Equal(Err(XenErrno.ENOENT), ret);
        Assert.Equal(1u, map.Mapped);
        Assert.Equal(references + 1, host.Frames.CountOf(new Mfn(dom0.FirstRamGfn + 3)));
        dom0.MapOk(ctx, 0xF0000, 0x1001, 2);
        host.AssertNoLeaks();
        Assert.Equal(3u, dom0.Unmap(ctx, 0x1000, 3).Out.Unmapped);
        Assert.Equal(references, host.Frames.CountOf(new Mfn(dom0.FirstRamGfn + 3)));
        dom0.Domain.P2m.Remove(gfn);
        Assert.Equal(0, dom0.Free(ctx));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Map_SameFrameTwice_HoldsTwoReferences()
    {
        // §3 map: each mapped RAM frame holds one page reference per mapping until it is unmapped.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        var mfn = new Mfn(dom0.FirstRamGfn + 9);
        var references = host.Frames.CountOf(mfn);
        dom0.MapOk(ctx, mfn.Value, 0x1000, 1);
        dom0.MapOk(ctx, mfn.Value, 0x5000, 1);
        Assert.Equal(references + 2, host.Frames.CountOf(mfn));
        Assert.Equal(1u, dom0.Unmap(ctx, 0x1000, 1).Out.Unmapped);
        Assert.Equal(references + 1, host.Frames.CountOf(mfn));
        Assert.Equal(0, dom0.Free(ctx));
        Assert.Equal(references, host.Frames.CountOf(mfn));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Map_ErrorMidway_InvalidatesThePagesMapped()
    {
        // §3 map: the ranged invalidation covers what this invocation changed, also when it stops on an error.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        var last = dom0.FirstRamGfn + (ulong)dom0.Domain.P2m.RamFrames - 1;
        var before = host.Counters.IotlbInvalidations;
        Assert.Equal(Err(XenErrno.ENOENT), dom0.Map(ctx, last - 2, 0x1000, 8).Ret);
        Assert.Equal(before + 1, host.Counters.IotlbInvalidations);
        Assert.Equal(0, dom0.Free(ctx));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Map_Pgsize2M_ErrorInsideSecondPage_UndoesThatPage()
    {
        // §3 map: mapped counts whole pgsize pages; a page the error cut is undone so the caller can undo exactly `mapped`.
        var host = Hosts.Default();
        var domU = host.DomUOn();
        var ctx = domU.InitAndAlloc(2, 6);
        var mfn = domU.MfnOf(0x605);
        domU.Domain.P2m.Set(0x605, new P2mEntry(mfn, P2mType.RamReadOnly));
        var references = host.Frames.CountOf(domU.MfnOf(0x601));
        var (ret, map) = domU.Map(ctx, 0x400, 0x200, 3, pgsize: PageSizes.Size2M);
        Assert.Equal(Err(XenErrno.EPERM), ret);
        Assert.Equal(1u, map.Mapped);
        Assert.Equal(512, domU.Ctx(ctx).MappedFrames);
        Assert.Equal(Err(XenErrno.ENOENT), domU.Lookup(ctx, 0x400).Ret);
        Assert.Equal(references, host.Frames.CountOf(domU.MfnOf(0x601)));
        host.AssertNoLeaks();
        domU.Domain.P2m.Set(0x605, new P2mEntry(mfn, P2mType.Ram));
        Assert.Equal(0, domU.Free(ctx));
        host.AssertNoLeaks();
    }
}
