using PvIommu.Devices.Rogue;
using PvIommu.Devices.Tests.Support;
using PvIommu.Hypervisor;
using PvIommu.Hypervisor.Domains;
using PvIommu.Hypervisor.Toolstack;
using PvIommu.Platform.Memory;

namespace PvIommu.Devices.Tests.Rogue;

/// <summary>
/// The rogue device on the booted default host: the DomU's NIC, translated by the context the
/// hypervisor gave it, aims at dom0's RAM, at Xen's page-table frames, at pages the DomU has
/// ballooned out, and at addresses nothing maps.
/// </summary>
public sealed class RogueOnHostTests
{
    private readonly Host _host = DefaultHost.Create(new HostOptions { PhysicalCpus = 2 });

    [Fact]
    public void Run_DomUNic_ReachesNothingOutsideItsDomain()
    {
        var dom0Ram = RamMfns(_host.GetDomain(0)).Where((_, i) => i % 4099 == 0).ToList();
        var tableRoots = new[] { DefaultHost.Nic, DefaultHost.Nvme, DefaultHost.Gpu, DefaultHost.DomUNic }
            .Select(d => _host.Machine.UnitOf(d).GetContext(d).Root.Value)
            .ToList();
        var freed = BalloonOutSomeDomUPages();
        var targets = RogueTarget.Frames(RogueTargetKind.OtherDomain, dom0Ram.Select(m => m << 12))
            .Concat(RogueTarget.Frames(RogueTargetKind.Hypervisor, tableRoots.Select(m => m << 12)))
            .Concat(RogueTarget.Frames(RogueTargetKind.FreedPage, freed.Select(g => g << 12)))
            .Append(new RogueTarget(RogueTargetKind.Unmapped, 0x7000_0000_0000, 1 << 30));
        var snapshot = new Snapshot(_host.Machine.Memory, dom0Ram.Concat(tableRoots));
        var rogue = new RogueDevice(_host.Machine, DefaultHost.DomUNic, 2024, targets, maxLength: 4096);

        var breaches = rogue.Run(3000);

        Assert.Equal(0, breaches);
        Assert.Empty(snapshot.Changed());
        Assert.All(Enum.GetValues<RogueTargetKind>(), k => Assert.True(rogue.Tally(k).Faults > 0));
        Assert.Equal(3000, rogue.Counters.Faults);
        Assert.Empty(_host.Audit());
    }

    [Fact]
    public void Rogue_DomUsOwnRam_IsReachable()
    {
        // The control for the test above: the same device does reach its own domain's pages.
        var gfn = _host.GetDomain(1).P2m.Entries().First(e => P2m.IsRam(e.Entry.Type)).Gfn;
        var rogue = new RogueDevice(_host.Machine, DefaultHost.DomUNic, 1, [new RogueTarget(RogueTargetKind.OtherDomain, gfn << 12)]);

        Assert.Equal(100, rogue.Run(100));
    }

    private static IEnumerable<ulong> RamMfns(Domain domain) =>
        domain.P2m.Entries().Where(e => P2m.IsRam(e.Entry.Type)).Select(e => e.Entry.Mfn.Value);

    private List<ulong> BalloonOutSomeDomUPages()
    {
        var gfns = _host.GetDomain(1).P2m.Entries().Where(e => P2m.IsRam(e.Entry.Type)).Select(e => e.Gfn).Skip(100).Take(16).ToList();
        var engine = new DmaEngine(_host.Machine, DefaultHost.DomUNic);
        Assert.True(engine.Write(gfns[0] << 12, new byte[Frame.Size]).IsOk);
        Assert.True(_host.BalloonOut(1, gfns, out var released).IsOk);
        Assert.Equal(16, released);
        return gfns;
    }
}
