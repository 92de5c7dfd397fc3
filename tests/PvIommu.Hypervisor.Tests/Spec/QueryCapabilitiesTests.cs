using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Hypervisor.Domains;
using PvIommu.Hypervisor.Tests.Support;
using PvIommu.Hypervisor.Toolstack;
using PvIommu.Platform.PageTables;

namespace PvIommu.Hypervisor.Tests.Spec;

/// <summary>Spec §3 query_capabilities (1) and the cap_flags of §2.</summary>
public class QueryCapabilitiesTests
{
    private const CapFlags Advertised = CapFlags.DefaultIdentity | CapFlags.Cache | CapFlags.Identity | CapFlags.DeferredFlush | CapFlags.Lookup;

    [Fact]
    public void Query_Dom0BeforeInit_FillsEveryField()
    {
        // §3 query: max_ctx_no 0 before init, 48-bit max_iova_addr for 4-level tables, 4K|2M|1G, max_pasid 0; §2 cap bits 0, 1, 4, 5, 6.
        var host = Hosts.Default();
        var bytes = new byte[Capabilities.Size];
        bytes.AsSpan().Fill(0xFF);
        HostState.AssertUnchangedBy(host, () => Assert.Equal(0, host.Dom0().Channel.IommuOp((uint)SubOp.QueryCapabilities, bytes)));
        var caps = Capabilities.Read(bytes);
        Assert.Equal(0, caps.MaxCtxNo);
        Assert.Equal((1UL << 48) - 1, caps.MaxIovaAddr);
        Assert.Equal(0x40201000u, caps.PgsizeMask);
        Assert.Equal(PageSizes.Size4K | PageSizes.Size2M | PageSizes.Size1G, caps.PgsizeMask);
        Assert.Equal(0u, caps.MaxPasid);
        Assert.Equal(Advertised, caps.CapFlags);
        Assert.Equal(0, bytes[Capabilities.Pad0Offset]);
        Assert.Equal(0, bytes[Capabilities.Pad0Offset + 1]);
        host.AssertNoLeaks();
    }

    [Fact]
    public void Query_NeverAdvertisesNestedOrPasid()
    {
        // §2: this project does not implement nested (bit 2) or PASID (bit 3).
        var host = Hosts.Default();
        var caps = host.Dom0().Query().Caps;
        Assert.Equal(CapFlags.None, caps.CapFlags & (CapFlags.Nested | CapFlags.Pasid));
        host.AssertNoLeaks();
    }

    [Theory]
    [InlineData(1u)]
    [InlineData(128u)]
    [InlineData(65534u)]
    public void Query_AfterInit_ReportsMaxCtxNo(uint max)
    {
        // §3 query: max_ctx_no = number of non-default contexts the domain may use.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        Assert.Equal(0, dom0.Init(max, 2));
        Assert.Equal(max, dom0.Query().Caps.MaxCtxNo);
        host.AssertNoLeaks();
    }

    [Fact]
    public void Query_FiveLevelHost_ReportsMaxIova57Bits()
    {
        // §3 query: 2^57 − 1 for 5-level tables.
        var host = DefaultHost.Create(new HostOptions { PhysicalCpus = 2 }, levels: 5);
        Assert.Equal((1UL << 57) - 1, host.Dom0().Query().Caps.MaxIovaAddr);
        host.AssertNoLeaks();
    }

    [Fact]
    public void Query_AmdV1FourLevelHost_ReportsMaxIova48Bits()
    {
        // §3 query: 2^48 − 1 for 4-level AMD-Vi v1 tables too.
        var host = DefaultHost.Create(new HostOptions { PhysicalCpus = 2 }, PageTableFormat.AmdV1);
        var caps = host.Dom0().Query().Caps;
        Assert.Equal((1UL << 48) - 1, caps.MaxIovaAddr);
        Assert.Equal(Advertised, caps.CapFlags);
        host.AssertNoLeaks();
    }

    [Fact]
    public void Query_NoDmaDomain_ClearsDefaultIdentityBit()
    {
        // §2 cap bit 0 and §5 "no-dma" domain: context 0 blocks DMA, bit 0 is clear; the rest stays.
        var host = Hosts.Default();
        var noDma = host.NewDomain(new DomainConfig("nodma", DomainKind.Pvh, 1024) { NoDma = true });
        var (ret, caps) = noDma.Query();
        Assert.Equal(0, ret);
        Assert.Equal(Advertised & ~CapFlags.DefaultIdentity, caps.CapFlags);
        host.AssertNoLeaks();
    }

    [Fact]
    public void Query_ThroughRemoteCmd_DescribesTheTarget()
    {
        // §3 remote_cmd: contexts and limits are the target's.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        Assert.Equal(0, dom0.Init(100, 2));
        var noDma = host.NewDomain(new DomainConfig("nodma", DomainKind.Pvh, 1024) { NoDma = true });
        Assert.Equal(0, dom0.Remote(noDma.Domain.Id, SubOp.Init, new Init { MaxCtxNo = 3, ArenaOrder = 2 }).Ret);
        var (ret, caps) = dom0.Remote(noDma.Domain.Id, SubOp.QueryCapabilities, new Capabilities());
        Assert.Equal(0, ret);
        Assert.Equal(3, caps.MaxCtxNo);
        Assert.Equal(CapFlags.None, caps.CapFlags & CapFlags.DefaultIdentity);
        host.AssertNoLeaks();
    }
}
