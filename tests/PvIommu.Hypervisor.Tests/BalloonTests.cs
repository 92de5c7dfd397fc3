using PvIommu.Abi;
using PvIommu.Hypervisor.Tests.Support;
using PvIommu.Platform.Memory;

namespace PvIommu.Hypervisor.Tests;

public class BalloonTests
{
    [Fact]
    public void BalloonOut_WhileMapped_FrameStaysUntilUnmapped()
    {
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        dom0.Init();
        var ctx = dom0.Alloc().Ctx;
        var gfn = dom0.FirstRamGfn + 7;
        Assert.Equal(0, dom0.Map(ctx, gfn, 0x500, 1).Ret);
        var free = host.Heap.FreeFrames;
        Assert.True(host.BalloonOut(0, [gfn], out var released).IsOk);
        Assert.Equal(1, released);
        Assert.Equal(free, host.Heap.FreeFrames);
        Assert.Equal(1, host.Frames.CountOf(new Mfn(gfn)));
        host.AssertNoLeaks();
        Assert.Equal(0, dom0.Unmap(ctx, 0x500, 1).Ret);
        Assert.Equal(free + 1, host.Heap.FreeFrames);
        Assert.Equal(0, host.Frames.CountOf(new Mfn(gfn)));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Balloon_IdentityContext_FollowsTheP2m()
    {
        var host = Hosts.Default();
        var domU = host.DomU();
        Assert.True(host.SetPvIommu(1, Domains.PvIommuPolicy.On).IsOk);
        Assert.Equal(0, domU.Init());
        var (ret, ctx) = domU.Alloc(AllocFlags.Identity);
        Assert.Equal(0, ret);
        Assert.Equal(0, domU.Lookup(ctx, 100).Ret);
        Assert.True(host.BalloonOut(1, [100], out _).IsOk);
        Assert.Equal(Hosts.Err(XenErrno.ENOENT), domU.Lookup(ctx, 100).Ret);
        Assert.True(host.BalloonIn(1, 0x100000, 3, out var gfns).IsOk);
        Assert.Equal([0x100000UL, 0x100001, 0x100002], gfns);
        var (lret, found) = domU.Lookup(ctx, 0x100001);
        Assert.Equal(0, lret);
        Assert.Equal(0x100001UL, found.Gfn);
        host.AssertNoLeaks();
    }
}
