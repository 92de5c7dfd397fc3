using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Guest.Dma;
using PvIommu.Guest.Tests.Support;
using PvIommu.Hypervisor;
using PvIommu.Hypervisor.Domains;
using PvIommu.Platform.Iommu;
using PvIommu.Platform.Memory;
using PvIommu.Platform.Pci;

namespace PvIommu.Guest.Tests;

/// <summary>Probe and init (research §4.2), and the fallback when PV-IOMMU is not usable.</summary>
public class ProbeTests
{
    [Fact]
    public void Probe_Dom0_InitsWith128ContextsAndArenaOrder12()
    {
        var host = Hosts.Default();
        var channel = new RecordingChannel(host.Channel(0));

        var driver = host.ProbeDom0(channel: channel);

        Assert.True(driver.IsAvailable);
        Assert.True(driver.InitialisedHere);
        Assert.Equal(ProbeStage.None, driver.FailedStage);
        Assert.Equal([SubOp.QueryCapabilities, SubOp.Init, SubOp.QueryCapabilities], channel.Calls.Select(c => c.Op));
        var init = Init.Read(channel.Calls[1].Argument);
        Assert.Equal((128u, 12u), (init.MaxCtxNo, init.ArenaOrder));
        Assert.Equal(128, driver.Capabilities.MaxCtxNo);
        Assert.Equal((ushort)128, host.GetDomain(0).Iommu.MaxContexts);
        Assert.Equal(12, host.GetDomain(0).Iommu.ArenaOrder);
        Assert.True(driver.Has(CapFlags.Lookup | CapFlags.DeferredFlush | CapFlags.DefaultIdentity));
        Assert.All(host.DevicesOf(0), d => Assert.Same(driver.IdentityDomain, driver.DomainOf(d.Address)));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Probe_Dom0_LimitsAreConfigurable()
    {
        var host = Hosts.Default();

        var driver = host.ProbeDom0(new XenIommuOptions { MaxContexts = 16, ArenaOrder = 8 });

        Assert.Equal(16, driver.Capabilities.MaxCtxNo);
        Assert.Equal(8, host.GetDomain(0).Iommu.ArenaOrder);
        host.AssertNoLeaks();
    }

    [Fact]
    public void Probe_AlreadyInitialised_UsesTheContextsWithoutInit()
    {
        var host = Hosts.Default();
        host.ProbeDom0();
        var channel = new RecordingChannel(host.Channel(0));

        var second = host.ProbeDom0(channel: channel);

        Assert.True(second.IsAvailable);
        Assert.False(second.InitialisedHere);
        Assert.Equal([SubOp.QueryCapabilities], channel.Calls.Select(c => c.Op));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Probe_DomUCapsOnly_CannotInit_FallsBackToDirectUnprotected()
    {
        var host = Hosts.Default();
        var channel = new RecordingChannel(host.Channel(1));

        var driver = XenIommuDriver.Probe(channel, host.DevicesOf(1));

        Assert.Equal(0, driver.Capabilities.MaxCtxNo);
        Assert.False(driver.IsAvailable);
        Assert.Equal(ProbeStage.Init, driver.FailedStage);
        Assert.Equal(XenErrno.EPERM.ToReturnValue(), driver.ProbeError);
        Assert.Contains("unprotected", driver.Describe());
        Assert.Equal(XenErrno.ENODEV.ToReturnValue(), driver.AllocPagingDomain(out _));

        Assert.Equal(0, DmaDevice.Create(driver, Hosts.DomUNic, null, out var dma));
        Assert.False(dma!.IsProtected);
        var gfn = host.RamGfns(1)[100];
        Assert.Equal(0, dma.MapSingle(0, gfn, 0x10, 3, DmaDirection.FromDevice, out var address));
        Assert.Equal((gfn << 12) | 0x10, address);

        // PVH context 0 translates dfn = gfn through the p2m: the direct address reaches the buffer.
        Assert.True(host.DmaWrite(Hosts.DomUNic, address, [1, 2, 3]).IsOk);
        var mfn = host.GetDomain(1).P2m.Lookup(gfn).Mfn.Value;
        Assert.Equal([1, 2, 3], host.ReadFrame(mfn, 0x10, 3));
        Assert.Equal(0, dma.Unmap(0, address, 3));
        Assert.Equal(0, dma.Shutdown());
        Assert.Equal(0, host.ContextOf(Hosts.DomUNic));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Probe_HostWithoutIommu_ReportsENODEV_AndMapsDirect()
    {
        var topology = new PciTopology();
        topology.AddSegment(0);
        var machine = new Machine(new MachineMemory(0x110000), topology, []);
        var host = new Host(machine, new Mfn(0x100000), 0x10000, new HostOptions { PhysicalCpus = 2 });
        Assert.True(host.CreateHardwareDomain(new DomainConfig("Domain-0", DomainKind.Pv, 4096), out _).IsOk);
        var nic = PciAddress.Of(0, 0, 2, 0);

        var driver = XenIommuDriver.Probe(host.Channel(0), [new DeviceInfo(nic)]);

        Assert.False(driver.IsAvailable);
        Assert.Equal(ProbeStage.Query, driver.FailedStage);
        Assert.Equal(XenErrno.ENODEV.ToReturnValue(), driver.ProbeError);
        Assert.Equal(1, driver.Counters.Traps);
        Assert.Equal(0, DmaDevice.Create(driver, nic, null, out var dma));
        Assert.False(dma!.IsProtected);
        var gfn = host.RamGfns(0)[7];
        Assert.Equal(0, dma.MapSingle(0, gfn, 0, 4096, DmaDirection.Bidirectional, out var address));
        Assert.Equal(gfn << 12, address);
        Assert.Equal(XenErrno.ENODEV.ToReturnValue(), DmaDevice.Create(driver, PciAddress.Of(0, 0, 9, 0), null, out _));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Probe_DomUInitialisedByToolstack_UsesItsContexts_AndDmaIsProtected()
    {
        var host = Hosts.Default();
        Assert.True(host.SetPvIommu(1, PvIommuPolicy.On).IsOk);
        var bytes = new byte[RemoteCmd.Size + Init.Size];
        new RemoteCmd { Domid = 1, Subop = SubOp.Init }.Write(bytes);
        new Init { MaxCtxNo = 4, ArenaOrder = 6 }.Write(bytes.AsSpan(RemoteCmd.Size));
        Assert.Equal(0, host.Channel(0).IommuOp((uint)SubOp.RemoteCmd, bytes));

        var driver = XenIommuDriver.Probe(host.Channel(1), host.DevicesOf(1));

        Assert.True(driver.IsAvailable);
        Assert.False(driver.InitialisedHere);
        Assert.Equal(4, driver.Capabilities.MaxCtxNo);
        Assert.Equal(0, DmaDevice.Create(driver, Hosts.DomUNic, null, out var dma));
        Assert.True(dma!.IsProtected);
        var gfn = host.RamGfns(1)[42];
        Assert.Equal(0, dma.MapSingle(0, gfn, 0, 8, DmaDirection.FromDevice, out var address));
        Assert.NotEqual(gfn << 12, address);
        Assert.True(host.DmaWrite(Hosts.DomUNic, address, [5, 6]).IsOk);
        Assert.Equal([5, 6], host.ReadFrame(host.GetDomain(1).P2m.Lookup(gfn).Mfn.Value, 0, 2));
        Assert.Equal(0, dma.Domain.IovaToPhys(address, out var phys));
        Assert.Equal(gfn << 12, phys);
        Assert.Equal(0, dma.Unmap(0, address, 8));
        Assert.Equal(0, dma.Shutdown());
        Assert.Equal(0, host.ContextOf(Hosts.DomUNic));
        host.AssertNoLeaks();
    }
}
