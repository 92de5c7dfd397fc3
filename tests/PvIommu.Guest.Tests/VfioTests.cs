using PvIommu.Abi;
using PvIommu.Guest.Tests.Support;
using PvIommu.Guest.Vfio;
using PvIommu.Platform.Iommu;
using static PvIommu.Guest.Tests.Support.Lookups;

namespace PvIommu.Guest.Tests;

/// <summary>The VFIO-style container: a user-space driver's device in a context of its own.</summary>
public class VfioTests
{
    private const VfioDmaFlags RW = VfioDmaFlags.Read | VfioDmaFlags.Write;

    [Fact]
    public void Container_DeviceReachesOnlyWhatTheUserMapped_ReleaseReturnsItToContext0()
    {
        var host = Hosts.Default();
        var driver = host.ProbeDom0();
        Assert.Equal(0, VfioContainer.Open(driver, Hosts.Nvme, null, out var container));
        Assert.Equal(container!.Domain.ContextNo, host.ContextOf(Hosts.Nvme));
        var ram = host.RamGfns(0);
        ulong[] user = [ram[100], ram[333], ram[101], ram[7000]];
        var elsewhere = ram[5000];

        Assert.Equal(0, container.MapDma(0x10000000, user, RW));

        Assert.Equal(4UL, container.LockedPages);
        Assert.All(user, g => Assert.True(container.IsPinned(g)));
        for (var i = 0; i < user.Length; i++)
        {
            Assert.True(host.DmaWrite(Hosts.Nvme, 0x10000000 + (ulong)(i * 4096) + 16, [(byte)(i + 1)]).IsOk);
            Assert.Equal([(byte)(i + 1)], host.ReadFrame(user[i], 16, 1));
        }

        // Its phantom function shares the context.
        Assert.True(host.Machine.Write(Hosts.Nvme.ToSbdf().WithFunction(1), 0x10000000, [9]).IsOk);
        Assert.Equal(FaultReason.NotMapped, host.DmaWrite(Hosts.Nvme, 0x10004000, [1]).Reason);
        Assert.Equal(FaultReason.NotMapped, host.DmaWrite(Hosts.Nvme, elsewhere << 12, [1]).Reason);

        Assert.Equal(0, container.Release());

        Assert.Equal(0, host.ContextOf(Hosts.Nvme));
        Assert.True(container.Domain.IsFreed);
        Assert.Equal((0UL, 0), (container.LockedPages, container.Mappings));
        Assert.False(container.IsPinned(user[0]));
        Assert.Equal(Err(XenErrno.ENODEV), container.MapDma(0x10000000, user, RW));
        host.AssertNoLeaks();
    }

    [Fact]
    public void IovaRanges_ExcludeTheRmrrAndTheMsiWindow_AndMapsThereAreRefused()
    {
        var host = Hosts.Default();
        var channel = new RecordingChannel(host.Channel(0));
        var driver = host.ProbeDom0(channel: channel);
        Assert.Equal(0, VfioContainer.Open(driver, Hosts.Gpu, null, out var container));
        var gfn = host.RamGfns(0)[10];

        Assert.Equal(
            [new IovaRange(0, 0x7EFFFFFF), new IovaRange(0x7F010000, 0xFEDFFFFF), new IovaRange(0xFEF00000, (1UL << 48) - 1)],
            container!.IovaRanges());

        channel.Clear();
        Assert.Equal(Err(XenErrno.EINVAL), container.MapDma(0x7F000000, [gfn], RW));
        Assert.Equal(Err(XenErrno.EINVAL), container.MapDma(0x7EFFF000, [gfn, gfn + 1], RW));
        Assert.Equal(Err(XenErrno.EINVAL), container.MapDma(0xFEE00000, [gfn], RW));
        Assert.Equal(Err(XenErrno.EINVAL), container.MapDma(1UL << 48, [gfn], RW));
        Assert.Equal(Err(XenErrno.EINVAL), container.MapDma(0x1000, [gfn], VfioDmaFlags.None));
        Assert.Equal(Err(XenErrno.EINVAL), container.MapDma(0x1800, [gfn], RW));
        Assert.Empty(channel.Calls);
        Assert.Equal(0UL, container.LockedPages);

        Assert.Equal(0, container.MapDma(0x7EFFF000, [gfn], RW));
        Assert.Equal(0, container.Release());
        host.AssertNoLeaks();
    }

    [Fact]
    public void MappingLimit_65535_TheNextMapIsENOSPC()
    {
        var host = Hosts.Default();
        var driver = host.ProbeDom0();
        Assert.Equal(0, VfioContainer.Open(driver, Hosts.Nic, null, out var container));
        var gfn = host.RamGfns(0)[12];
        for (ulong i = 0; i < 65535; i++)
        {
            Assert.Equal(0, container!.MapDma(0x100000000 + (i << 12), [gfn], VfioDmaFlags.Read));
        }

        Assert.Equal(0, container!.DmaAvailable);

        Assert.Equal(Err(XenErrno.ENOSPC), container.MapDma(0x200000000, [gfn], VfioDmaFlags.Read));

        Assert.Equal(FaultReason.NotMapped, host.DmaRead(Hosts.Nic, 0x200000000, new byte[1]).Reason);
        Assert.Equal(0, container.UnmapDma(0x100000000, 0x1000, out var bytes));
        Assert.Equal(0x1000UL, bytes);
        Assert.Equal(0, container.MapDma(0x200000000, [gfn], VfioDmaFlags.Read));
        Assert.Equal(0, container.Release());
        host.AssertNoLeaks();
    }

    [Fact]
    public void UnmapThatWouldSplitAMapping_IsRefused_WholeMappingsGo()
    {
        var host = Hosts.Default();
        var driver = host.ProbeDom0();
        Assert.Equal(0, VfioContainer.Open(driver, Hosts.Nic, null, out var container));
        var ram = host.RamGfns(0);
        Assert.Equal(0, container!.MapDma(0x200000, [ram[1], ram[2], ram[3], ram[4]], RW));
        Assert.Equal(0, container.MapDma(0x204000, [ram[9], ram[8]], RW));

        Assert.Equal(Err(XenErrno.EINVAL), container.UnmapDma(0x201000, 0x1000, out var bytes));
        Assert.Equal(Err(XenErrno.EINVAL), container.UnmapDma(0x200000, 0x2000, out _));
        Assert.Equal(Err(XenErrno.EINVAL), container.UnmapDma(0x200000, 0x5000, out _));
        Assert.Equal(Err(XenErrno.EINVAL), container.UnmapDma(0x203000, 0x2000, out _));
        Assert.Equal(0UL, bytes);
        Assert.Equal(2, container.Mappings);
        Assert.True(host.DmaWrite(Hosts.Nic, 0x201000, [1]).IsOk);
        Assert.True(host.DmaWrite(Hosts.Nic, 0x205000, [1]).IsOk);

        Assert.Equal(0, container.UnmapDma(0x300000, 0x1000, out bytes));
        Assert.Equal(0UL, bytes);
        Assert.Equal(0, container.UnmapDma(0x100000, 0x200000, out bytes));
        Assert.Equal(0x6000UL, bytes);
        Assert.Equal((0, 0UL), (container.Mappings, container.LockedPages));
        Assert.Equal(FaultReason.NotMapped, host.DmaWrite(Hosts.Nic, 0x201000, [1]).Reason);
        Assert.Equal(0, container.Release());
        host.AssertNoLeaks();
    }

    [Fact]
    public void MapOverAnExistingMapping_EADDRINUSE_AndChangesNothing()
    {
        var host = Hosts.Default();
        var driver = host.ProbeDom0();
        Assert.Equal(0, VfioContainer.Open(driver, Hosts.Nic, null, out var container));
        var ram = host.RamGfns(0);
        Assert.Equal(0, container!.MapDma(0x400000, [ram[1], ram[2]], RW));

        Assert.Equal(Err(XenErrno.EADDRINUSE), container.MapDma(0x3FF000, [ram[5], ram[6]], RW));
        Assert.Equal(Err(XenErrno.EADDRINUSE), container.MapDma(0x401000, [ram[5]], RW));

        Assert.Equal((1, 2UL), (container.Mappings, container.LockedPages));
        Assert.Equal(0, container.Domain.IovaToPhys(0x401000, out var phys));
        Assert.Equal(ram[2] << 12, phys);
        Assert.Equal(0, container.Release());
        host.AssertNoLeaks();
    }

    [Fact]
    public void Limits_LockedPagesAndHypervisorRefusal_LeaveNothingPinned()
    {
        var host = Hosts.Default();
        var driver = host.ProbeDom0();
        Assert.Equal(0, VfioContainer.Open(driver, Hosts.Nic, new VfioOptions { LockedPagesLimit = 5 }, out var container));
        var ram = host.RamGfns(0);
        Assert.Equal(0, container!.MapDma(0x1000, [ram[1], ram[2]], RW));

        Assert.Equal(Err(XenErrno.ENOMEM), container.MapDma(0x10000, [ram[3], ram[4], ram[5], ram[6]], RW));
        // A gfn the domain does not have: the hypervisor refuses; the frame mapped before it is undone.
        Assert.Equal(Err(XenErrno.ENOENT), container.MapDma(0x20000, [ram[5], 0xFFFFFFF], RW));

        Assert.Equal((1, 2UL), (container.Mappings, container.LockedPages));
        Assert.False(container.IsPinned(ram[5]));
        Assert.Equal(Err(XenErrno.ENOENT), container.Domain.IovaToPhys(0x20000, out _));
        Assert.Equal(0, container.Release());
        host.AssertNoLeaks();
    }
}
