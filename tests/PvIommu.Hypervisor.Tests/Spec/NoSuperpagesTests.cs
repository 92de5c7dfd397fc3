using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Hypervisor.Tests.Support;
using PvIommu.Hypervisor.Toolstack;
using PvIommu.Platform.Memory;
using static PvIommu.Hypervisor.Tests.Support.Hosts;

namespace PvIommu.Hypervisor.Tests.Spec;

/// <summary>
/// Spec §3 on a host booted with Xen's <c>iommu=no-superpages</c> (<see cref="HostOptions.Superpages"/>
/// false): query_capabilities reports a <c>pgsize_mask</c> of 4 KiB only, so larger pgsizes are
/// "not in pgsize_mask" (-EINVAL), and every leaf the hypervisor writes is 4 KiB, in guest contexts,
/// identity contexts and context 0 alike. Each test runs the same request on a default host too,
/// so it shows the difference the knob makes.
/// </summary>
public class NoSuperpagesTests
{
    private static Host NoSuperpages(int cpus = 4, int batch = 256) =>
        Hosts.Default(new HostOptions { PhysicalCpus = cpus, PreemptBatch = batch, Superpages = false });

    [Fact]
    public void Query_NoSuperpagesHost_ReportsPgsizeMask4KOnly()
    {
        // §3 query: pgsize_mask = the page sizes the hardware format supports; no-superpages leaves 4 KiB.
        var host = NoSuperpages();
        var (ret, caps) = host.Dom0().Query();
        Assert.Equal(0, ret);
        Assert.Equal(PageSizes.Size4K, caps.PgsizeMask);
        Assert.Equal(PageSizes.Size4K, host.PgsizeMask);
        Assert.Equal((1UL << 48) - 1, caps.MaxIovaAddr);
        Assert.Equal(PageSizes.SupportedMask, Hosts.Default().Dom0().Query().Caps.PgsizeMask);
        host.AssertNoLeaks();
    }

    [Theory]
    [InlineData(PageSizes.Size2M)]
    [InlineData(PageSizes.Size1G)]
    public void MapUnmapFlush_NoSuperpagesHost_LargePgsize_ReturnsEINVAL_NothingChanges(uint pgsize)
    {
        // §3 map (unmap and flush: "pgsize checks as for map"): pgsize not in pgsize_mask → -EINVAL. On a
        // default host the same map gets -ENOENT (gfn 0 is not dom0's) and the unmap succeeds.
        var host = NoSuperpages();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        dom0.MapOk(ctx, dom0.FirstRamGfn, 0, 512);
        HostState.AssertUnchangedBy(host, () =>
        {
            Assert.Equal(Err(XenErrno.EINVAL), dom0.Map(ctx, 0, 0x40000, 1, pgsize: pgsize).Ret);
            Assert.Equal(Err(XenErrno.EINVAL), dom0.Unmap(ctx, 0, 1, pgsize).Ret);
            Assert.Equal(Err(XenErrno.EINVAL), dom0.Flush(ctx, 0, 1, pgsize));
        });
        Assert.Equal(512u, dom0.Unmap(ctx, 0, 512).Out.Unmapped);
        Assert.Equal(0, dom0.Free(ctx));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Map_NoSuperpagesHost_AlignedContiguousRun_Writes4KLeaves_MoreTables()
    {
        // §3 map: "the largest PTE that fits" — on this host that is 4 KiB, however aligned the run.
        var leaves = new Dictionary<bool, (uint Pgsize, int TablePages, long PteWrites)>();
        foreach (var superpages in new[] { true, false })
        {
            var host = Hosts.Default(new HostOptions { PhysicalCpus = 4, Superpages = superpages });
            var dom0 = host.Dom0();
            var ctx = dom0.InitAndAlloc();
            var gfn = dom0.FirstRamGfn;
            Assert.Equal(0UL, gfn % 512);
            var writes = host.Counters.PteWrites;
            dom0.MapOk(ctx, gfn, 0x200, 1024);
            writes = host.Counters.PteWrites - writes;
            var (ret, look) = dom0.Lookup(ctx, 0x200 + 700);
            Assert.Equal(0, ret);
            Assert.Equal(gfn + 700, look.Gfn);
            Assert.Equal(0, dom0.Reattach(ctx, DefaultHost.Nic));
            Dma.AssertReaches(host, DefaultHost.Nic, 0x200 + 1023, new Mfn(gfn + 1023));
            Dma.AssertFaults(host, DefaultHost.Nic, 0x200 + 1024);
            leaves[superpages] = (look.Pgsize, dom0.Ctx(ctx).TablePages, writes);
            Assert.Equal(1024u, dom0.Unmap(ctx, 0x200, 1024).Out.Unmapped);
            Assert.Equal(0, dom0.Free(ctx, FreeFlags.ReattachDefault));
            host.AssertNoLeaks();
        }

        Assert.Equal(PageSizes.Size2M, leaves[true].Pgsize);
        Assert.Equal(PageSizes.Size4K, leaves[false].Pgsize);

        // Root, 1 GiB and 2 MiB tables either way; two 4 KiB tables more without superpages.
        Assert.Equal(leaves[true].TablePages + 2, leaves[false].TablePages);
        Assert.True(leaves[false].PteWrites >= 1024, $"{leaves[false].PteWrites} PTE writes for 1024 4 KiB leaves");
        Assert.True(leaves[true].PteWrites < 16, $"{leaves[true].PteWrites} PTE writes for two 2 MiB leaves");
    }

    [Fact]
    public void Alloc_Identity_NoSuperpagesHost_Uses4KLeaves()
    {
        // §3 alloc ALLOC_identity: "the largest page sizes that fit" — 4 KiB here, so more arena pages.
        var arena = new Dictionary<bool, int>();
        foreach (var superpages in new[] { true, false })
        {
            var host = Hosts.Default(new HostOptions { PhysicalCpus = 4, Superpages = superpages });
            var domU = host.DomUOn();
            Assert.Equal(0, domU.Init(4, 8));
            var (ret, ctx) = domU.Alloc(AllocFlags.Identity);
            Assert.Equal(0, ret);
            Assert.Equal(domU.Domain.P2m.RamFrames, domU.Ctx(ctx).MappedFrames);
            foreach (var gfn in new ulong[] { 0, 511, 512, 0xFFFF })
            {
                var look = domU.Lookup(ctx, gfn).Out;
                Assert.Equal(gfn, look.Gfn);
                Assert.Equal(superpages ? PageSizes.Size2M : PageSizes.Size4K, look.Pgsize);
            }

            arena[superpages] = domU.Ctx(ctx).TablePages;
            Assert.Equal(0, domU.Free(ctx));
            host.AssertNoLeaks();
        }

        // 256 MiB of RAM: 128 more 4 KiB tables.
        Assert.Equal(arena[true] + 128, arena[false]);
    }

    [Fact]
    public void Context0_PvDom0_NoSuperpagesHost_Uses4KLeaves()
    {
        // §5: a PV dom0's context 0 maps its RAM 1:1; the host writes it with 4 KiB leaves only.
        var host = NoSuperpages();
        var dom0 = host.Dom0();
        var gfn = dom0.FirstRamGfn;
        var (ret, look) = dom0.Lookup(0, gfn + 0x300);
        Assert.Equal(0, ret);
        Assert.Equal(gfn + 0x300, look.Gfn);
        Assert.Equal(PageSizes.Size4K, look.Pgsize);
        Assert.Equal(PageSizes.Size2M, Hosts.Default().Dom0().Lookup(0, gfn + 0x300).Out.Pgsize);
        host.AssertNoLeaks();
    }

    [Fact]
    public void Map_NoSuperpagesHost_Preempted_SlicesEndAtTheBatch()
    {
        // §4 with §3 map: with no superpage to keep whole, a slice ends after its 256 frames, not at the next 2 MiB boundary.
        var host = NoSuperpages(cpus: 1);
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc(4, 12);
        const uint Total = 200_000;
        const ulong Dfn0 = 0x1000000;
        var op = new MapPages { CtxNo = ctx, Gfn = dom0.FirstRamGfn, Dfn = Dfn0, NrPages = Total, MapFlags = Guest.RW, Pgsize = PageSizes.Size4K };
        var (ret, parked, done, ends) = Preemption.MapSlices(host, dom0, op, wanted: 16);
        Assert.Equal(0, ret);
        Assert.True(parked > 0);
        Assert.All(ends, end => Assert.Equal(0u, end % 256));
        Assert.True(ends.Any(end => end % 512 != 0), "every slice ended on a 2 MiB boundary");
        Assert.Equal(Total, done.Mapped);
        Assert.Equal(PageSizes.Size4K, dom0.Lookup(ctx, Dfn0 + 600).Out.Pgsize);
        Assert.Equal(0, dom0.Free(ctx));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Identity_BalloonOut_NoSuperpagesHost_NeedsNoSplit()
    {
        // §3 alloc identity "stays in sync": with 4 KiB leaves a ballooned-out page takes no arena page to split.
        var host = NoSuperpages();
        var domU = host.DomUOn();
        Assert.Equal(0, domU.Init(4, 8));
        var ctx = domU.Alloc(AllocFlags.Identity).Ctx;
        var arena = domU.Domain.Iommu.Arena!.InUse;
        SpecHosts.Ok(host.BalloonOut(1, [0x42UL], out var released));
        Assert.Equal(1, released);
        Assert.Equal(arena, domU.Domain.Iommu.Arena!.InUse);
        Assert.Equal(Err(XenErrno.ENOENT), domU.Lookup(ctx, 0x42).Ret);
        Assert.Equal(0x43UL, domU.Lookup(ctx, 0x43).Out.Gfn);
        SpecHosts.Ok(host.BalloonIn(1, 0x42, 1, out _));
        Assert.Equal(PageSizes.Size4K, domU.Lookup(ctx, 0x42).Out.Pgsize);
        Assert.Equal(0, domU.Free(ctx));
        host.AssertNoLeaks();
    }
}
