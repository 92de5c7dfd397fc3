using PvIommu.Abi;
using PvIommu.Hypervisor.Tests.Support;
using PvIommu.Hypervisor.Toolstack;
using PvIommu.Platform.Memory;
using static PvIommu.Hypervisor.Tests.Support.Hosts;

namespace PvIommu.Hypervisor.Tests.Spec;

/// <summary>Spec §3 flush_pages (13, extension) and cap bit 5.</summary>
public class FlushPagesTests
{
    [Fact]
    public void Flush_InvalidatesTheRange_MappingsUnchanged()
    {
        // §3 flush: invalidates the IOTLB for nr_pages pages at dfn in ctx_no, nothing else.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        Assert.Equal(0, dom0.Reattach(ctx, DefaultHost.Nic));
        dom0.MapOk(ctx, dom0.FirstRamGfn, 0x1000, 4, Guest.RW | MapFlags.NoFlush);
        Dma.AssertReaches(host, DefaultHost.Nic, 0x1001, new Mfn(dom0.FirstRamGfn + 1));
        Dma.AssertReaches(host, DefaultHost.Nic, 0x1003, new Mfn(dom0.FirstRamGfn + 3));
        var iotlb = host.Machine.Units[0].Iotlb;
        var did = dom0.Ctx(ctx).HardwareDomainId;
        Assert.True(iotlb.TryLookup(did, 0x1001, out _));
        var before = host.Counters.IotlbInvalidations;
        var state = HostState.Capture(host);
        Assert.Equal(0, dom0.Flush(ctx, 0x1000, 2));
        Assert.Equal(state, HostState.Capture(host));
        Assert.Equal(before + 1, host.Counters.IotlbInvalidations);
        Assert.False(iotlb.TryLookup(did, 0x1001, out _));
        Assert.True(iotlb.TryLookup(did, 0x1003, out _));
        Dma.AssertReaches(host, DefaultHost.Nic, 0x1001, new Mfn(dom0.FirstRamGfn + 1));
        Assert.Equal(0, dom0.Free(ctx, FreeFlags.ReattachDefault));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Flush_Pgsize2M_CoversWholePages()
    {
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        Assert.Equal(0, dom0.Reattach(ctx, DefaultHost.Nic));
        dom0.MapOk(ctx, dom0.FirstRamGfn + 1, 0x200, 1024, Guest.RW | MapFlags.NoFlush);
        Dma.AssertReaches(host, DefaultHost.Nic, 0x5FF, new Mfn(dom0.FirstRamGfn + 0x400));
        Assert.Equal(0, dom0.Flush(ctx, 0x200, 2, PageSizes.Size2M));
        Assert.False(host.Machine.Units[0].Iotlb.TryLookup(dom0.Ctx(ctx).HardwareDomainId, 0x5FF, out _));
        Assert.Equal(0, dom0.Free(ctx, FreeFlags.ReattachDefault));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Flush_Context0_ReturnsEINVAL()
    {
        // §3 flush: "checks as for unmap": context 0 is Xen-managed.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var before = host.Counters.IotlbInvalidations;
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.EINVAL), dom0.Flush(0, dom0.FirstRamGfn, 1)));
        Assert.Equal(before, host.Counters.IotlbInvalidations);
        host.AssertNoLeaks();
    }

    [Theory]
    [InlineData((ushort)2, PageSizes.Size4K, 0x1000UL, XenErrno.EINVAL)]
    [InlineData((ushort)0xFFFF, PageSizes.Size4K, 0x1000UL, XenErrno.EINVAL)]
    [InlineData((ushort)1, 0x3000u, 0x1000UL, XenErrno.EINVAL)]
    [InlineData((ushort)1, PageSizes.Size2M, 0x1001UL, XenErrno.EINVAL)]
    [InlineData((ushort)1, PageSizes.Size4K, 1UL << 36, XenErrno.ERANGE)]
    [InlineData((ushort)1, PageSizes.Size4K, ulong.MaxValue, XenErrno.ERANGE)]
    public void Flush_BadArguments_ReturnErrno_NoInvalidation(ushort ctx, uint pgsize, ulong dfn, XenErrno errno)
    {
        // §3 flush: context, pgsize, alignment and range checked as for unmap.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        Assert.Equal(0, dom0.Init(4, 4));
        Assert.Equal(0, dom0.Alloc().Ret);
        var before = host.Counters.IotlbInvalidations;
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(errno), dom0.Flush(ctx, dfn, 2, pgsize)));
        Assert.Equal(before, host.Counters.IotlbInvalidations);
        host.AssertNoLeaks();
    }

    [Fact]
    public void Flush_UnmappedRange_NoPerPageChecks()
    {
        // §3 flush: "no per-page checks": a range with nothing mapped, even a reserved one, flushes fine.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        Assert.Equal(0, dom0.Reattach(ctx, DefaultHost.Gpu));
        Assert.Equal(0, dom0.Flush(ctx, 0x9000, 100));
        Assert.Equal(0, dom0.Flush(ctx, DefaultHost.GpuRmrr.Start.Value, 16));
        Assert.Equal(0, dom0.Free(ctx, FreeFlags.ReattachDefault));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Flush_ZeroPages_ReturnsZero_NoInvalidation()
    {
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        var before = host.Counters.IotlbInvalidations;
        Assert.Equal(0, dom0.Flush(ctx, 0x1000, 0));
        Assert.Equal(before, host.Counters.IotlbInvalidations);
        host.AssertNoLeaks();
    }
}
