using PvIommu.Abi;
using PvIommu.Guest.Dma;
using PvIommu.Hypervisor;
using PvIommu.Hypervisor.Calls;
using PvIommu.Hypervisor.Domains;
using PvIommu.Hypervisor.Toolstack;
using PvIommu.Platform.Iommu;
using PvIommu.Platform.Memory;
using PvIommu.Platform.Pci;

namespace PvIommu.Guest.Tests.Support;

/// <summary>The default host, the driver probed on it, and the leak check every test ends with.</summary>
internal static class Hosts
{
    public const MapFlags RW = MapFlags.Readable | MapFlags.Writeable;

    public static readonly PciAddress Nic = DefaultHost.Nic.Pci();
    public static readonly PciAddress Nvme = DefaultHost.Nvme.Pci();
    public static readonly PciAddress Gpu = DefaultHost.Gpu.Pci();
    public static readonly PciAddress DomUNic = DefaultHost.DomUNic.Pci();

    public static Host Default(ulong dom0Frames = 262144) =>
        DefaultHost.Create(new HostOptions { PhysicalCpus = 4 }, dom0Frames: dom0Frames);

    public static PciAddress Pci(this Sbdf sbdf) => new(sbdf.Segment, sbdf.Bus, sbdf.DevFn);

    public static Sbdf ToSbdf(this PciAddress address) => Sbdf.FromDevFn(address.Segment, address.Bus, address.DevFn);

    public static IHypercallChannel Channel(this Host host, ushort domid) => new InProcessChannel(host, host.GetDomain(domid));

    /// <summary>The platform description of a domain's devices, RMRRs from the host's firmware tables.</summary>
    public static IReadOnlyList<DeviceInfo> DevicesOf(this Host host, ushort domid) =>
        [.. host.GetDomain(domid).Devices.Select(s => new DeviceInfo(
            s.Pci(),
            [.. host.Machine.Topology.Get(s).ReservedRegions.Select(r => new ReservedRange(r.Start.Value, r.Frames, ReservedKind.Direct, r.Name))]))];

    public static XenIommuDriver ProbeDom0(this Host host, XenIommuOptions? options = null, IHypercallChannel? channel = null) =>
        XenIommuDriver.Probe(channel ?? host.Channel(0), host.DevicesOf(0), options);

    /// <summary>The domain's RAM gfns, lowest first.</summary>
    /// <summary>Dom0's driver probed on <paramref name="host"/> and a DMA API for its NIC under <paramref name="options"/>; asserts both came up.</summary>
    public static DmaDevice NicDma(this Host host, DmaOptions? options, out XenIommuDriver driver)
    {
        driver = host.ProbeDom0();
        Assert.Equal(0, DmaDevice.Create(driver, Nic, options, out var dma));
        return dma!;
    }

    public static ulong[] RamGfns(this Host host, ushort domid) =>
        [.. host.GetDomain(domid).P2m.Entries().Where(e => P2m.IsRam(e.Entry.Type)).Select(e => e.Gfn).Order()];

    /// <summary>A gfn of dom0 (PV: gfn = mfn) with <paramref name="alignment"/> frames of RAM from it, aligned.</summary>
    public static ulong AlignedDom0Gfn(this Host host, ulong alignment, ulong frames)
    {
        var ram = host.RamGfns(0).ToHashSet();
        var candidate = (ram.Min() + alignment - 1) & ~(alignment - 1);
        for (; candidate < ram.Max(); candidate += alignment)
        {
            var ok = true;
            for (ulong i = 0; i < frames && ok; i++)
            {
                ok = ram.Contains(candidate + i);
            }

            if (ok)
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("no aligned run of RAM");
    }

    /// <summary>Which context of its owner a device's DMA goes through now.</summary>
    public static ushort ContextOf(this Host host, PciAddress device) => host.DeviceState(device.ToSbdf())!.Value.Context.Number;

    public static DmaResult DmaWrite(this Host host, PciAddress device, ulong address, byte[] bytes) =>
        host.Machine.Write(device.ToSbdf(), address, bytes);

    public static DmaResult DmaRead(this Host host, PciAddress device, ulong address, byte[] into) =>
        host.Machine.Read(device.ToSbdf(), address, into);

    public static void WriteFrame(this Host host, ulong mfn, int offset, byte[] bytes) => host.Machine.Memory.Write(new Mfn(mfn), offset, bytes);

    public static byte[] ReadFrame(this Host host, ulong mfn, int offset, int length)
    {
        var bytes = new byte[length];
        host.Machine.Memory.Read(new Mfn(mfn), offset, bytes);
        return bytes;
    }

    /// <summary>Arena pages back, references balanced, no orphan context.</summary>
    public static void AssertNoLeaks(this Host host) => Assert.Empty(host.Audit());
}
