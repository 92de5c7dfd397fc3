using PvIommu.Abi;
using PvIommu.Guest.Tests.Support;
using PvIommu.Platform.Iommu;
using static PvIommu.Guest.Tests.Support.Lookups;

namespace PvIommu.Guest.Tests;

/// <summary>Paging and identity domains, attach, map and unmap (research §4.3, §4.4).</summary>
public class DomainTests
{
    [Fact]
    public void Attach_PagingDomain_HardwareTranslatesOnlyWhatIsMapped()
    {
        var host = Hosts.Default();
        var driver = host.ProbeDom0();
        var ram = host.RamGfns(0);
        var (gfn, other) = (ram[1000], ram[2000]);
        Assert.True(host.DmaWrite(Hosts.Nic, other << 12, [9]).IsOk);

        Assert.Equal(0, driver.AllocPagingDomain(out var domain));
        Assert.Equal(0, driver.Attach(Hosts.Nic, domain!));
        Assert.Equal(domain!.ContextNo, host.ContextOf(Hosts.Nic));
        Assert.Same(domain, driver.DomainOf(Hosts.Nic));
        Assert.Contains(Hosts.Nic, domain.Devices);
        Assert.Equal(0, domain.Map(0x1234, gfn, 1, Hosts.RW));

        var t = host.Machine.Translate(DefaultNic, 0x1234UL << 12, DmaAccess.Write);
        Assert.True(t.IsOk);
        Assert.Equal(gfn, t.Mfn.Value);
        Assert.True(host.DmaWrite(Hosts.Nic, (0x1234UL << 12) + 8, [1, 2, 3]).IsOk);
        Assert.Equal([1, 2, 3], host.ReadFrame(gfn, 8, 3));
        Assert.Equal(FaultReason.NotMapped, host.DmaWrite(Hosts.Nic, other << 12, [9]).Reason);

        Assert.Equal(0, driver.Release(Hosts.Nic));
        Assert.Equal(0, host.ContextOf(Hosts.Nic));
        Assert.Same(driver.IdentityDomain, driver.DomainOf(Hosts.Nic));
        Assert.True(host.DmaWrite(Hosts.Nic, other << 12, [9]).IsOk);
        Assert.Equal(0, domain.Unmap(0x1234, 1, out var unmapped));
        Assert.Equal(1UL, unmapped);
        Assert.Equal(0, domain.Free());
        host.AssertNoLeaks();
    }

    [Theory]
    [InlineData(true, 1)]
    [InlineData(false, 3)]
    public void Map_NonContiguousGfns_OneMapPagesPerRun(bool batch, int traps)
    {
        var host = Hosts.Default();
        var channel = new RecordingChannel(host.Channel(0));
        var driver = host.ProbeDom0(new XenIommuOptions { BatchRuns = batch }, channel);
        Assert.Equal(0, driver.AllocPagingDomain(out var domain));
        var g = host.RamGfns(0)[4096];
        ulong[] gfns = [g, g + 1, g + 2, g + 10, g + 11, g + 20];
        channel.Clear();

        Assert.Equal(0, domain!.Map(0x4000, gfns, Hosts.RW));

        var maps = channel.Maps.ToList();
        Assert.Equal([(0x4000UL, g, 3u), (0x4003UL, g + 10, 2u), (0x4005UL, g + 20, 1u)], maps.Select(m => (m.Dfn, m.Gfn, m.NrPages)));
        Assert.All(maps, m => Assert.Equal(PageSizes.Size4K, m.Pgsize));
        Assert.Equal(traps, channel.Traps);
        for (var i = 0; i < gfns.Length; i++)
        {
            Assert.Equal(0, domain.IovaToPhys(((0x4000UL + (ulong)i) << 12) | 0x42, out var phys));
            Assert.Equal((gfns[i] << 12) | 0x42, phys);
        }

        Assert.Equal(0, domain.Unmap(0x4000, 6, out _));
        Assert.Equal(0, domain.Free());
        host.AssertNoLeaks();
    }

    [Fact]
    public void Map_AlignedRun_Uses2MiBPages_WhereAligned()
    {
        var host = Hosts.Default();
        var channel = new RecordingChannel(host.Channel(0));
        var driver = host.ProbeDom0(channel: channel);
        Assert.Equal(0, driver.AllocPagingDomain(out var domain));
        var g = host.AlignedDom0Gfn(512, 2048);
        channel.Clear();

        // One frame before a 2 MiB boundary, two whole 2 MiB pages, one frame after.
        Assert.Equal(0, domain!.Map(0x40000 + 511, g + 511, 1026, Hosts.RW));

        Assert.Equal(
            [(0x401FFUL, PageSizes.Size4K, 1u), (0x40200UL, PageSizes.Size2M, 2u), (0x40600UL, PageSizes.Size4K, 1u)],
            channel.Maps.Select(m => (m.Dfn, m.Pgsize, m.NrPages)));
        Assert.Equal(PageSizes.Size2M, host.Lookup(domain.ContextNo, 0x40321).Out.Pgsize);
        Assert.Equal(g + 0x321, host.Lookup(domain.ContextNo, 0x40321).Out.Gfn);
        Assert.Equal(PageSizes.Size4K, host.Lookup(domain.ContextNo, 0x401FF).Out.Pgsize);
        Assert.Equal(0, domain.Unmap(0x401FF, 1026, out var unmapped));
        Assert.Equal(1026UL, unmapped);
        Assert.Equal(Err(XenErrno.ENOENT), host.Lookup(domain.ContextNo, 0x40321).Ret);
        Assert.Equal(0, domain.Free());
        host.AssertNoLeaks();
    }

    [Fact]
    public void Map_GigabyteAlignedRun_UsesOne1GiBPage()
    {
        var host = Hosts.Default(dom0Frames: 524288);
        var channel = new RecordingChannel(host.Channel(0));
        var driver = host.ProbeDom0(channel: channel);
        Assert.Equal(0, driver.AllocPagingDomain(out var domain));
        var g = host.AlignedDom0Gfn(262144, 262144);
        channel.Clear();

        Assert.Equal(0, domain!.Map(0x40000, g, 262144, Hosts.RW));

        var map = Assert.Single(channel.Maps);
        Assert.Equal((PageSizes.Size1G, 1u), (map.Pgsize, map.NrPages));
        Assert.Equal(PageSizes.Size1G, host.Lookup(domain.ContextNo, 0x40000 + 12345).Out.Pgsize);
        Assert.Equal(0, domain.Unmap(0x40000, 262144, out _));
        Assert.Equal(0, domain.Free());
        host.AssertNoLeaks();
    }

    [Fact]
    public void Map_SuperpagesOffOrGfnMisaligned_Uses4KiBPagesOnly()
    {
        var host = Hosts.Default();
        var channel = new RecordingChannel(host.Channel(0));
        var off = host.ProbeDom0(new XenIommuOptions { UseSuperpages = false }, channel);
        Assert.Equal(0, off.AllocPagingDomain(out var domain));
        var g = host.AlignedDom0Gfn(512, 2048);
        channel.Clear();

        Assert.Equal(0, domain!.Map(0x40000, g, 1024, Hosts.RW));
        Assert.Equal((PageSizes.Size4K, 1024u), (channel.Maps.Single().Pgsize, channel.Maps.Single().NrPages));

        // Superpages on, but gfn and dfn disagree modulo 2 MiB: no superpage can ever fit.
        var on = host.ProbeDom0(channel: channel);
        Assert.Equal(0, on.AllocPagingDomain(out var second));
        channel.Clear();
        Assert.Equal(0, second!.Map(0x80000, g + 1, 1024, Hosts.RW));
        Assert.Equal((PageSizes.Size4K, 1024u), (channel.Maps.Single().Pgsize, channel.Maps.Single().NrPages));

        Assert.Equal(0, domain.Unmap(0x40000, 1024, out _));
        Assert.Equal(0, second.Unmap(0x80000, 1024, out _));
        Assert.Equal(0, domain.Free());
        Assert.Equal(0, second.Free());
        host.AssertNoLeaks();
    }

    [Fact]
    public void Map_RunningIntoAnRmrr_FailsAndLeavesNothingOfTheCall()
    {
        var host = Hosts.Default();
        var driver = host.ProbeDom0();
        Assert.Equal(0, driver.AllocPagingDomain(out var domain));
        Assert.Equal(0, driver.Attach(Hosts.Gpu, domain!));
        var context = host.DeviceState(Hosts.Gpu.ToSbdf())!.Value.Context;
        Assert.Equal(16, context.MappedFrames);
        var g = host.RamGfns(0)[8192];

        // Two runs: 8 frames, then 16 scattered ones whose 9th is the RMRR's first frame.
        var gfns = Enumerable.Range(0, 8).Select(i => g + (ulong)i)
            .Concat(Enumerable.Range(0, 16).Select(i => g + 100 + (ulong)i)).ToArray();
        var ret = domain!.Map(0x7F000 - 16, gfns, Hosts.RW);

        Assert.Equal(Err(XenErrno.EADDRNOTAVAIL), ret);
        for (ulong dfn = 0x7F000 - 16; dfn < 0x7F000; dfn++)
        {
            Assert.Equal(Err(XenErrno.ENOENT), domain.IovaToPhys(dfn << 12, out _));
        }

        Assert.Equal(16, context.MappedFrames);
        Assert.Equal(16, driver.Counters.FramesUndone);
        Assert.Equal(0, driver.Counters.UndoFailures);
        Assert.Equal(0, domain.IovaToPhys(0x7F000UL << 12, out var rmrr));
        Assert.Equal(0x7F000UL << 12, rmrr);
        Assert.Equal(0, driver.Release(Hosts.Gpu));
        Assert.Equal(0, domain.Free());
        host.AssertNoLeaks();
    }

    [Fact]
    public void Map_AlreadyMappedDfnMidRun_UndoesOnlyItsOwnPages()
    {
        var host = Hosts.Default();
        var driver = host.ProbeDom0();
        Assert.Equal(0, driver.AllocPagingDomain(out var domain));
        var ram = host.RamGfns(0);
        Assert.Equal(0, domain!.Map(0x5005, ram[50], 1, Hosts.RW));
        var gfns = Enumerable.Range(0, 10).Select(i => ram[1000 + (3 * i)]).ToArray();

        Assert.Equal(Err(XenErrno.EADDRINUSE), domain.Map(0x5000, gfns, Hosts.RW));

        for (ulong dfn = 0x5000; dfn < 0x500A; dfn++)
        {
            var ret = domain.IovaToPhys(dfn << 12, out var phys);
            Assert.Equal(dfn == 0x5005 ? (0, ram[50] << 12) : (Err(XenErrno.ENOENT), 0UL), (ret, phys));
        }

        Assert.Equal(1, host.GetDomain(0).Iommu.Context(domain.ContextNo)!.MappedFrames);
        Assert.Equal(9, driver.Counters.FramesUndone);
        Assert.Equal(0, domain.Unmap(0x5005, 1, out _));
        Assert.Equal(0, domain.Free());
        host.AssertNoLeaks();
    }

    [Fact]
    public void IovaToPhys_UsesLookupPage()
    {
        var host = Hosts.Default();
        var channel = new RecordingChannel(host.Channel(0));
        var driver = host.ProbeDom0(channel: channel);
        Assert.Equal(0, driver.AllocPagingDomain(out var domain));
        var gfn = host.RamGfns(0)[77];
        Assert.Equal(0, domain!.Map(0x9000, gfn, 1, Hosts.RW));
        Assert.False(domain.UsesShadowTable);
        channel.Clear();

        Assert.Equal(0, domain.IovaToPhys((0x9000UL << 12) | 0x123, out var phys));
        Assert.Equal((gfn << 12) | 0x123, phys);
        Assert.Equal(1, channel.Count(SubOp.LookupPage));
        Assert.Equal(0, domain.Unmap(0x9000, 1, out _));
        Assert.Equal(Err(XenErrno.ENOENT), domain.IovaToPhys(0x9000UL << 12, out phys));
        Assert.Equal(0UL, phys);
        Assert.Equal(0, domain.Free());
        host.AssertNoLeaks();
    }

    [Fact]
    public void IovaToPhys_WithoutLookupCapability_AnswersFromShadowTable()
    {
        var host = Hosts.Default();
        var channel = new RecordingChannel(host.Channel(0)) { Hidden = CapFlags.Lookup };
        var driver = host.ProbeDom0(channel: channel);
        Assert.Equal(0, driver.AllocPagingDomain(out var domain));
        Assert.True(domain!.UsesShadowTable);
        var g = host.AlignedDom0Gfn(512, 1024);
        var scattered = host.RamGfns(0)[300];
        Assert.Equal(0, domain.Map(0x40000, g, 1024, Hosts.RW));
        Assert.Equal(0, domain.Map(0x50000, [scattered, scattered + 5], Hosts.RW));
        Assert.Equal(0, domain.Unmap(0x40100, 1, out _));
        channel.Clear();

        foreach (var (dfn, expected) in new[] { (0x40000UL, g), (0x400FFUL, g + 0xFF), (0x40101UL, g + 0x101), (0x403FFUL, g + 0x3FF), (0x50001UL, scattered + 5) })
        {
            Assert.Equal(0, domain.IovaToPhys((dfn << 12) | 7, out var phys));
            Assert.Equal((expected << 12) | 7, phys);
            Assert.Equal(expected, host.Lookup(domain.ContextNo, dfn).Out.Gfn);
        }

        Assert.Equal(Err(XenErrno.ENOENT), domain.IovaToPhys(0x40100UL << 12, out _));
        Assert.Equal(Err(XenErrno.ENOENT), domain.IovaToPhys(0x50002UL << 12, out _));
        Assert.Equal(0, channel.Count(SubOp.LookupPage));
        Assert.Equal(7, driver.Counters.ShadowLookups);
        Assert.Equal(0, domain.Unmap(0x40000, 0x100, out _));
        Assert.Equal(0, domain.Unmap(0x40101, 1024 - 0x101, out _));
        Assert.Equal(0, domain.Unmap(0x50000, 2, out _));
        Assert.Equal(0, domain.Free());
        host.AssertNoLeaks();
    }

    [Fact]
    public void IdentityDomain_OnPvDom0_TranslatesIovaToItself()
    {
        var host = Hosts.Default();
        var driver = host.ProbeDom0();
        var gfn = host.RamGfns(0)[3];

        Assert.Equal(0, driver.IdentityDomain.IovaToPhys((gfn << 12) | 5, out var phys));

        Assert.Equal((gfn << 12) | 5, phys);
        Assert.True(driver.IdentityDomain.IsDirect);
        host.AssertNoLeaks();
    }

    [Fact]
    public void Free_WithADeviceAttached_IsRefused_AndChangesNothing()
    {
        var host = Hosts.Default();
        var driver = host.ProbeDom0();
        Assert.Equal(0, driver.AllocPagingDomain(out var domain));
        Assert.Equal(0, driver.Attach(Hosts.Nvme, domain!));

        Assert.Equal(Err(XenErrno.EBUSY), domain!.Free());

        Assert.False(domain.IsFreed);
        Assert.Equal(domain.ContextNo, host.ContextOf(Hosts.Nvme));
        Assert.Equal(0, driver.Release(Hosts.Nvme));
        Assert.Equal(0, domain.Free());
        Assert.Equal(Err(XenErrno.EINVAL), driver.Attach(Hosts.Nvme, domain));
        host.AssertNoLeaks();
    }

    [Fact]
    public void AllocPagingDomain_BeyondMaxContexts_ENOSPC()
    {
        var host = Hosts.Default();
        var driver = host.ProbeDom0(new XenIommuOptions { MaxContexts = 2 });
        Assert.Equal(0, driver.AllocPagingDomain(out var a));
        Assert.Equal(0, driver.AllocPagingDomain(out var b));

        Assert.Equal(Err(XenErrno.ENOSPC), driver.AllocPagingDomain(out var c));

        Assert.Null(c);
        Assert.Equal(0, a!.Free());
        Assert.Equal(0, b!.Free());
        host.AssertNoLeaks();
    }

    [Fact]
    public void ReservedRegions_AreTheMsiWindowAndTheDevicesRmrrs()
    {
        var host = Hosts.Default();
        var driver = host.ProbeDom0();

        var gpu = driver.ReservedRegions(Hosts.Gpu);
        var nic = driver.ReservedRegions(Hosts.Nic);

        Assert.Equal([(0xFEE00UL, 0x100UL, ReservedKind.Msi), (0x7F000UL, 16UL, ReservedKind.Direct)], gpu.Select(r => (r.Dfn, r.Frames, r.Kind)));
        Assert.Equal([ReservedRange.MsiWindow], nic);
        host.AssertNoLeaks();
    }

    [Fact]
    public void Attach_DeviceOutsideThePlatformDescription_ENODEV_WithoutAHypercall()
    {
        var host = Hosts.Default();
        var driver = host.ProbeDom0();
        Assert.Equal(0, driver.AllocPagingDomain(out var domain));
        var traps = driver.Counters.Traps;

        Assert.Equal(Err(XenErrno.ENODEV), driver.Attach(PciAddress.Of(0, 0, 9, 0), domain!));

        Assert.Equal(traps, driver.Counters.Traps);
        Assert.Equal(0, domain!.Free());
        host.AssertNoLeaks();
    }

    private static Platform.Pci.Sbdf DefaultNic => Hosts.Nic.ToSbdf();
}
