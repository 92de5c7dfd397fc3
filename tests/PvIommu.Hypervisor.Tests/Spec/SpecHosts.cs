using PvIommu.Hypervisor.Domains;
using PvIommu.Hypervisor.Iommu;
using PvIommu.Hypervisor.Tests.Support;
using PvIommu.Hypervisor.Toolstack;
using PvIommu.Platform.Iommu;
using PvIommu.Platform.Memory;
using PvIommu.Platform.Pci;

namespace PvIommu.Hypervisor.Tests.Spec;

/// <summary>Hosts and domains the conformance tests start from, beyond <see cref="Hosts.Default"/>.</summary>
internal static class SpecHosts
{
    /// <summary>The default host's DomU with <c>pv_iommu = "on"</c> (spec §1.1): it may use every local sub-op.</summary>
    public static Guest DomUOn(this Host host)
    {
        Ok(host.SetPvIommu(1, PvIommuPolicy.On));
        return host.DomU();
    }

    /// <summary>A new domain made by the toolstack, as a guest.</summary>
    public static Guest NewDomain(this Host host, DomainConfig config)
    {
        Ok(host.CreateDomain(config, out var domain));
        return new Guest(host, domain!);
    }

    /// <summary>A new PVH domain with a passthrough GPU (spec §5: assignment lands in context 0).</summary>
    public static Guest NewDomainWithGpu(this Host host, DomainConfig config)
    {
        var guest = host.NewDomain(config);
        Ok(host.MakeAssignable(DefaultHost.Gpu));
        Ok(host.AssignDevice(DefaultHost.Gpu, guest.Domain.Id));
        return guest;
    }

    /// <summary>A host with no IOMMU hardware (spec §1: every sub-op -ENODEV). A machine without units has no PCI endpoints.</summary>
    public static Host WithoutIommu()
    {
        var topology = new PciTopology();
        topology.AddSegment(0);
        topology.Freeze();
        var machine = new Machine(new MachineMemory(DefaultHost.HeapFirst + 0x10000), topology, []);
        var host = new Host(machine, new Mfn(DefaultHost.HeapFirst), 0x10000);
        Ok(host.CreateHardwareDomain(new DomainConfig("Domain-0", DomainKind.Pv, 4096), out _));
        return host;
    }

    /// <summary>
    /// The default machine with a bigger dom0 (PV, <paramref name="dom0Frames"/> of RAM, one
    /// machine-contiguous run from the heap's start) and a small caps-only PVH DomU (domid 1) with
    /// the passthrough NIC: for the §4 tests that need a million-page map.
    /// </summary>
    public static Host Big(ulong dom0Frames, HostOptions options)
    {
        var host = new Host(DefaultHost.BuildMachine(), new Mfn(DefaultHost.HeapFirst), DefaultHost.HeapFrames, options);
        Ok(host.CreateHardwareDomain(new DomainConfig("Domain-0", DomainKind.Pv, dom0Frames), out _));
        Ok(host.CreateDomain(new DomainConfig("domu", DomainKind.Pvh, 4096), out var domU));
        Ok(host.MakeAssignable(DefaultHost.DomUNic));
        Ok(host.AssignDevice(DefaultHost.DomUNic, domU!.Id));
        return host;
    }

    /// <summary>In <see cref="GigabyteHost"/>, the first gfn (PV: also mfn) of a 1 GiB-aligned GiB of dom0's RAM.</summary>
    public const ulong GigabyteGfn = 0x140000;

    /// <summary>
    /// The default machine with a 2 GiB PV dom0 whose RAM covers the 1 GiB-aligned frames
    /// [<see cref="GigabyteGfn"/>, +2^18): 1 GiB leaves need dfn and mfn aligned, and the default
    /// host's dom0 (1 GiB from frame 0x100200, after dom_io's tables) has no aligned GiB.
    /// </summary>
    public static Host GigabyteHost()
    {
        var host = Big(0x80000, new HostOptions { PhysicalCpus = 4 });
        var p2m = host.GetDomain(0).P2m;
        Assert.Equal(Domains.P2mType.Ram, p2m.Lookup(GigabyteGfn).Type);
        Assert.Equal(Domains.P2mType.Ram, p2m.Lookup(GigabyteGfn + 0x3FFFF).Type);
        return host;
    }

    /// <summary>Context <paramref name="number"/> of the guest's domain (0: the default context).</summary>
    public static IommuContext Ctx(this Guest guest, ushort number) =>
        guest.Domain.Iommu.Context(number) ?? throw new InvalidOperationException($"{guest.Domain} has no context {number}");

    /// <summary>The machine frame behind one of the guest's gfns.</summary>
    public static Mfn MfnOf(this Guest guest, ulong gfn) => guest.Domain.P2m.Lookup(gfn).Mfn;

    /// <summary>init + alloc, asserting both succeed: the guest's first context.</summary>
    public static ushort InitAndAlloc(this Guest guest, uint maxCtx = 128, uint order = 12)
    {
        Assert.Equal(0, guest.Init(maxCtx, order));
        var (ret, ctx) = guest.Alloc();
        Assert.Equal(0, ret);
        return ctx;
    }

    /// <summary>Maps and asserts the whole request succeeded.</summary>
    public static void MapOk(this Guest guest, ushort ctx, ulong gfn, ulong dfn, uint pages, Abi.MapFlags flags = Guest.RW, uint pgsize = Abi.PageSizes.Size4K)
    {
        var (ret, map) = guest.Map(ctx, gfn, dfn, pages, flags, pgsize);
        Assert.Equal(0, ret);
        Assert.Equal(pages, map.Mapped);
    }

    public static void Ok(ToolstackResult result) => Assert.True(result.IsOk, result.ToString());
}
