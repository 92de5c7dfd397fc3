using PvIommu.Abi;
using PvIommu.Hypervisor.Tests.Support;
using PvIommu.Hypervisor.Toolstack;
using static PvIommu.Hypervisor.Tests.Support.Hosts;

namespace PvIommu.Hypervisor.Tests.Spec;

/// <summary>
/// Spec §3 alloc_context, ALLOC_identity: the context "stays in sync when the domain's memory
/// changes (pages added or ballooned out)"; and §3 map: a mapped frame holds its reference, so a
/// device never reaches a frame that was freed and reused.
/// </summary>
public class IdentitySyncTests
{
    [Fact]
    public void Identity_BalloonIn_NewPagesMappedAtGfn()
    {
        var host = Hosts.Default();
        var domU = host.DomUOn();
        Assert.Equal(0, domU.Init(4, 6));
        var ctx = domU.Alloc(AllocFlags.Identity).Ctx;
        Assert.Equal(0, domU.Reattach(ctx, DefaultHost.DomUNic));
        SpecHosts.Ok(host.BalloonIn(1, 0x20000, 16, out var gfns));
        Assert.Equal(16, gfns.Count);
        foreach (var gfn in gfns)
        {
            var (ret, look) = domU.Lookup(ctx, gfn);
            Assert.Equal(0, ret);
            Assert.Equal(gfn, look.Gfn);
        }

        Dma.AssertReaches(host, DefaultHost.DomUNic, 0x20005, domU.MfnOf(0x20005));
        Assert.Equal(0, domU.Free(ctx, FreeFlags.ReattachDefault));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Identity_BalloonOut_PageUnmappedAndFreed_DeviceFaults()
    {
        var host = Hosts.Default();
        var domU = host.DomUOn();
        Assert.Equal(0, domU.Init(4, 6));
        var ctx = domU.Alloc(AllocFlags.Identity).Ctx;
        Assert.Equal(0, domU.Reattach(ctx, DefaultHost.DomUNic));
        var mfn = domU.MfnOf(0x42);
        Dma.AssertReaches(host, DefaultHost.DomUNic, 0x42, mfn);
        SpecHosts.Ok(host.BalloonOut(1, [0x42UL], out var released));
        Assert.Equal(1, released);
        Assert.Equal(Err(XenErrno.ENOENT), domU.Lookup(ctx, 0x42).Ret);
        Dma.AssertFaults(host, DefaultHost.DomUNic, 0x42);
        Assert.Equal(0, host.Frames.CountOf(mfn));
        Assert.Equal(0, domU.Free(ctx, FreeFlags.ReattachDefault));
        host.AssertNoLeaks();
    }

    [Fact]
    public void PagingContext_BalloonOutWhileMapped_FrameStaysUntilUnmapped()
    {
        // §3 map: the mapping's reference keeps the frame allocated, so the device never reaches a reused frame.
        var host = Hosts.Default();
        var domU = host.DomUOn();
        var ctx = domU.InitAndAlloc(4, 6);
        Assert.Equal(0, domU.Reattach(ctx, DefaultHost.DomUNic));
        var mfn = domU.MfnOf(0x42);
        domU.MapOk(ctx, 0x42, 0x9000, 1);
        var freed = host.Counters.FramesFreedByLastReference;
        SpecHosts.Ok(host.BalloonOut(1, [0x42UL], out _));
        Assert.Equal(1, host.Frames.CountOf(mfn));
        Dma.AssertReaches(host, DefaultHost.DomUNic, 0x9000, mfn);
        host.AssertNoLeaks();
        Assert.Equal(1u, domU.Unmap(ctx, 0x9000, 1).Out.Unmapped);
        Assert.Equal(0, host.Frames.CountOf(mfn));
        Assert.Equal(freed + 1, host.Counters.FramesFreedByLastReference);
        Dma.AssertFaults(host, DefaultHost.DomUNic, 0x9000);
        Assert.Equal(0, domU.Free(ctx, FreeFlags.ReattachDefault));
        host.AssertNoLeaks();
    }
}
