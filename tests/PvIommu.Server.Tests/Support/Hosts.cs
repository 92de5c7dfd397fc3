using PvIommu.Hypervisor;
using PvIommu.Hypervisor.Toolstack;

namespace PvIommu.Server.Tests.Support;

/// <summary>Hosts for tests: the default host's shape with a small dom0 (fast to build), unless a test needs the real one.</summary>
internal static class Hosts
{
    /// <summary>dom0 frames in <see cref="Small"/>: 64 MiB.</summary>
    public const ulong SmallDom0Frames = 16384;

    public static Host Small(int cpus = 4) => DefaultHost.Create(new HostOptions { PhysicalCpus = cpus }, dom0Frames: SmallDom0Frames);

    /// <summary>The first gfn of dom0's RAM (PV: its first machine frame).</summary>
    public static ulong Dom0FirstGfn(this Host host) =>
        host.GetDomain(0).P2m.Entries().First(e => e.Entry.Type == PvIommu.Hypervisor.Domains.P2mType.Ram).Gfn;
}
