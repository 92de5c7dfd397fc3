using PvIommu.Hypervisor.Tests.Support;
using PvIommu.Hypervisor.Toolstack;
using PvIommu.Platform.Iommu;

namespace PvIommu.Hypervisor.Tests;

public class SmokeTests
{
    [Fact]
    public void DefaultHost_Boots_AndBalances()
    {
        var host = Hosts.Default();
        host.AssertNoLeaks();
    }

    [Fact]
    public void Dom0_MapsABuffer_DeviceDmasIt_UnmapFaults()
    {
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        Assert.Equal(0, dom0.Init());
        var (ret, ctx) = dom0.Alloc();
        Assert.Equal(0, ret);
        Assert.Equal(1, ctx);
        Assert.Equal(0, dom0.Reattach(ctx, DefaultHost.Nic));
        var gfn = dom0.FirstRamGfn + 100;
        var (mret, map) = dom0.Map(ctx, gfn, 0x1000, 4);
        Assert.Equal(0, mret);
        Assert.Equal(4u, map.Mapped);
        Assert.True(host.Machine.Write(DefaultHost.Nic, 0x1000UL << 12, [1, 2, 3]).IsOk);
        var back = new byte[3];
        host.Machine.Memory.Read(new Platform.Memory.Mfn(gfn), 0, back);
        Assert.Equal([1, 2, 3], back);
        var (uret, unmap) = dom0.Unmap(ctx, 0x1000, 4);
        Assert.Equal(0, uret);
        Assert.Equal(4u, unmap.Unmapped);
        Assert.Equal(FaultReason.NotMapped, host.Machine.Write(DefaultHost.Nic, 0x1000UL << 12, [9]).Reason);
        Assert.Equal(0, dom0.Reattach(0, DefaultHost.Nic));
        Assert.Equal(0, dom0.Free(ctx));
        host.AssertNoLeaks();
    }

    [Fact]
    public void DomIo_IsNotADomainTheToolstackOrAGuestCanName()
    {
        var host = Hosts.Default();
        Assert.Null(host.FindDomain(Host.DomIoId));
        Assert.False(host.DestroyDomain(Host.DomIoId).IsOk);
        Assert.False(host.BalloonIn(Host.DomIoId, 0, 1, out _).IsOk);
        Assert.NotNull(host.DomIo.Iommu.Default);
        host.AssertNoLeaks();
    }
}
