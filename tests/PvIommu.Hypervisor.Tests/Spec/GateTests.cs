using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Hypervisor.Domains;
using PvIommu.Hypervisor.Tests.Support;
using PvIommu.Hypervisor.Toolstack;
using static PvIommu.Hypervisor.Tests.Support.Hosts;

namespace PvIommu.Hypervisor.Tests.Spec;

/// <summary>Spec §1 "The call": the entry gate, -EFAULT, -EOPNOTSUPP, copy-back and padding.</summary>
public class GateTests
{
    private const byte Poison = 0xA5;

    public static TheoryData<uint> EverySubOp => [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 200];

    public static TheoryData<uint> SubOpsWithArgument => [1, 2, 3, 4, 5, 6, 7, 8, 13, 14];

    [Theory]
    [MemberData(nameof(EverySubOp))]
    public void AnySubOp_PvIommuOff_ReturnsENODEV_ArgumentUntouched(uint subOp)
    {
        // §1 entry gate, §1.1 last row: pv_iommu "off" is refused before any sub-op, noop included.
        var host = Hosts.Default();
        SpecHosts.Ok(host.SetPvIommu(1, PvIommuPolicy.Off));
        var domU = host.DomU();
        HostState.AssertUnchangedBy(host, () => AssertGateRefuses(domU, subOp));
        host.AssertNoLeaks();
    }

    [Theory]
    [MemberData(nameof(EverySubOp))]
    public void AnySubOp_DomainWithoutIommu_ReturnsENODEV_ArgumentUntouched(uint subOp)
    {
        // §1 entry gate: the domain's IOMMU is not enabled, even with pv_iommu "on".
        var host = Hosts.Default();
        var plain = host.NewDomain(new DomainConfig("no-iommu", DomainKind.Pvh, 1024) { IommuEnabled = false, PvIommu = PvIommuPolicy.On });
        HostState.AssertUnchangedBy(host, () => AssertGateRefuses(plain, subOp));
        host.AssertNoLeaks();
    }

    [Theory]
    [MemberData(nameof(EverySubOp))]
    public void AnySubOp_HostWithoutIommu_ReturnsENODEV_ArgumentUntouched(uint subOp)
    {
        // §1 entry gate and §3 query_capabilities: no IOMMU hardware, so even the hardware domain gets -ENODEV.
        var host = SpecHosts.WithoutIommu();
        Assert.False(host.HasIommu);
        var dom0 = host.Dom0();
        HostState.AssertUnchangedBy(host, () => AssertGateRefuses(dom0, subOp));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Noop_HardwareDomain_ReturnsZero()
    {
        // §3 noop.
        var host = Hosts.Default();
        HostState.AssertUnchangedBy(host, () => Assert.Equal(0, host.Dom0().Noop()));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Noop_CapsOnlyDomU_ReturnsZero()
    {
        // §1: noop is subject only to the gate; a caps-only DomU with an IOMMU passes it.
        var host = Hosts.Default();
        Assert.Equal(0, host.DomU().Noop());
        host.AssertNoLeaks();
    }

    [Theory]
    [InlineData(15u)]
    [InlineData(200u)]
    [InlineData(0xFFFFu)]
    [InlineData(uint.MaxValue)]
    public void UnknownSubOp_ReturnsEOPNOTSUPP_ArgumentUntouched(uint subOp)
    {
        // §1: unknown sub-ops -EOPNOTSUPP.
        var host = Hosts.Default();
        var bytes = Poisoned(40);
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.EOPNOTSUPP), host.Dom0().Channel.IommuOp(subOp, bytes)));
        Assert.All(bytes, b => Assert.Equal(Poison, b));
        host.AssertNoLeaks();
    }

    [Theory]
    [InlineData(SubOp.AllocNested)]
    [InlineData(SubOp.FlushNested)]
    [InlineData(SubOp.AttachPasid)]
    [InlineData(SubOp.DetachPasid)]
    public void DeclaredSubOps9To12_ReturnEOPNOTSUPP_ArgumentUntouched(SubOp subOp)
    {
        // §1: the declared but unimplemented nested and PASID sub-ops.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        Assert.Equal(0, dom0.Init());
        var bytes = Poisoned(SubOps.ArgumentSize(subOp));
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.EOPNOTSUPP), dom0.Channel.IommuOp((uint)subOp, bytes)));
        Assert.All(bytes, b => Assert.Equal(Poison, b));
        host.AssertNoLeaks();
    }

    [Theory]
    [MemberData(nameof(SubOpsWithArgument))]
    public void ShortArgument_ReturnsEFAULT_NothingChanges(uint subOp)
    {
        // §1: a copy-in fault (the guest handle points at too little memory) gives -EFAULT.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var bytes = Poisoned(SubOps.ArgumentSize((SubOp)subOp) - 1);
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.EFAULT), dom0.Channel.IommuOp(subOp, bytes)));
        Assert.All(bytes, b => Assert.Equal(Poison, b));
        Assert.False(dom0.Domain.Iommu.IsInitialised);
        host.AssertNoLeaks();
    }

    [Fact]
    public void LongArgument_ReturnsEFAULT_NothingChanges()
    {
        // §1 and wire-protocol.md: an argument whose size differs from the sub-op's struct is a copy fault.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var bytes = new byte[Init.Size + 1];
        new Init { MaxCtxNo = 4, ArenaOrder = 4 }.Write(bytes);
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.EFAULT), dom0.Channel.IommuOp((uint)SubOp.Init, bytes)));
        host.AssertNoLeaks();
    }

    [Fact]
    public void CopyFault_OverridesEPERM()
    {
        // §1: -EFAULT overrides any other result; a caps-only DomU's init would otherwise be -EPERM.
        var host = Hosts.Default();
        var bytes = Poisoned(Init.Size - 2);
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.EFAULT), host.DomU().Channel.IommuOp((uint)SubOp.Init, bytes)));
        host.AssertNoLeaks();
    }

    [Fact]
    public void RemoteCmd_ShortOuterOrInnerArgument_ReturnsEFAULT()
    {
        // §1 and §3 remote_cmd: the remote struct and the inner struct are both copied in.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var outer = Poisoned(RemoteCmd.Size - 1);
        var inner = new byte[RemoteCmd.Size + Init.Size - 1];
        new RemoteCmd { Domid = 1, Subop = SubOp.Init }.Write(inner);
        HostState.AssertUnchangedBy(host, () =>
        {
            Assert.Equal(Err(XenErrno.EFAULT), dom0.Channel.IommuOp((uint)SubOp.RemoteCmd, outer));
            Assert.Equal(Err(XenErrno.EFAULT), dom0.Channel.IommuOp((uint)SubOp.RemoteCmd, inner));
        });
        Assert.False(host.DomU().Domain.Iommu.IsInitialised);
        host.AssertNoLeaks();
    }

    [Fact]
    public void FailedCall_StructCopiedBackWithOutFields()
    {
        // §1: the struct is copied back with its OUT fields also on failure (here mapped = 2, pad zeroed).
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        var lastGfn = dom0.FirstRamGfn + (ulong)dom0.Domain.P2m.RamFrames - 1;
        var bytes = new byte[MapPages.Size];
        new MapPages { CtxNo = ctx, Gfn = lastGfn - 1, Dfn = 0x1000, NrPages = 4, MapFlags = Guest.RW, Pgsize = PageSizes.Size4K }.Write(bytes);
        bytes.AsSpan(MapPages.Pad0Offset, MapPages.Pad0Size).Fill(0xFF);
        Assert.Equal(Err(XenErrno.ENOENT), dom0.Channel.IommuOp((uint)SubOp.MapPages, bytes));
        Assert.Equal(2u, MapPages.Read(bytes).Mapped);
        Assert.All(bytes.AsSpan(MapPages.Pad0Offset, MapPages.Pad0Size).ToArray(), b => Assert.Equal(0, b));
        Assert.Equal(0, dom0.Unmap(ctx, 0x1000, 2).Ret);
        host.AssertNoLeaks();
    }

    [Fact]
    public void Calls_PaddingIgnoredOnInput_WrittenAsZero()
    {
        // §2: "pad" bytes are ignored on input and written as zero.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        Assert.Equal(0, dom0.Init());
        var gfn = dom0.FirstRamGfn;

        AssertPadsCleared(dom0, SubOp.QueryCapabilities, new Capabilities(), (Capabilities.Pad0Offset, Capabilities.Pad0Size));
        AssertPadsCleared(dom0, SubOp.AllocContext, new Alloc(), (Alloc.Pad0Offset, Alloc.Pad0Size));
        AssertPadsCleared(dom0, SubOp.AllocContext, new Alloc(), (Alloc.Pad0Offset, Alloc.Pad0Size));
        AssertPadsCleared(dom0, SubOp.ReattachDevice, new ReattachDevice { CtxNo = 1, Dev = Guest.Dev(DefaultHost.Nic) }, (ReattachDevice.Pad0Offset, ReattachDevice.Pad0Size));
        AssertPadsCleared(dom0, SubOp.MapPages, new MapPages { CtxNo = 1, Gfn = gfn, Dfn = 0x10, NrPages = 1, MapFlags = Guest.RW, Pgsize = PageSizes.Size4K }, (MapPages.Pad0Offset, MapPages.Pad0Size));
        AssertPadsCleared(dom0, SubOp.LookupPage, new LookupPage { CtxNo = 1, Dfn = 0x10 }, (LookupPage.Pad0Offset, LookupPage.Pad0Size));
        AssertPadsCleared(dom0, SubOp.FlushPages, new FlushPages { CtxNo = 1, Dfn = 0x10, NrPages = 1, Pgsize = PageSizes.Size4K }, (FlushPages.Pad0Offset, FlushPages.Pad0Size));
        AssertPadsCleared(dom0, SubOp.UnmapPages, new UnmapPages { CtxNo = 1, Dfn = 0x10, NrPages = 1, Pgsize = PageSizes.Size4K }, (UnmapPages.Pad0Offset, UnmapPages.Pad0Size), (UnmapPages.Pad1Offset, UnmapPages.Pad1Size));
        AssertPadsCleared(dom0, SubOp.ReattachDevice, new ReattachDevice { CtxNo = 0, Dev = Guest.Dev(DefaultHost.Nic) }, (ReattachDevice.Pad0Offset, ReattachDevice.Pad0Size));
        AssertPadsCleared(dom0, SubOp.FreeContext, new Free { CtxNo = 2 }, (Free.Pad0Offset, Free.Pad0Size));
        Assert.Equal(0, dom0.Free(1));
        host.AssertNoLeaks();
    }

    private static void AssertPadsCleared<T>(Guest guest, SubOp op, T arg, params (int Offset, int Size)[] pads)
        where T : struct, IAbiStruct<T>
    {
        var bytes = new byte[SubOps.ArgumentSize(op)];
        arg.Write(bytes);
        foreach (var (offset, size) in pads)
        {
            bytes.AsSpan(offset, size).Fill(0xFF);
        }

        Assert.Equal(0, guest.Channel.IommuOp((uint)op, bytes));
        foreach (var (offset, size) in pads)
        {
            Assert.All(bytes.AsSpan(offset, size).ToArray(), b => Assert.Equal(0, b));
        }
    }

    private static void AssertGateRefuses(Guest guest, uint subOp)
    {
        var size = SubOps.ArgumentSize((SubOp)subOp);
        var bytes = Poisoned(size < 0 ? 40 : size);
        Assert.Equal(Err(XenErrno.ENODEV), guest.Channel.IommuOp(subOp, bytes));
        Assert.All(bytes, b => Assert.Equal(Poison, b));
    }

    private static byte[] Poisoned(int size)
    {
        var bytes = new byte[size];
        bytes.AsSpan().Fill(Poison);
        return bytes;
    }
}
