using PvIommu.Devices.Rogue;
using PvIommu.Devices.Tests.Support;
using PvIommu.Platform.Iommu;

namespace PvIommu.Devices.Tests.Rogue;

/// <summary>The rogue device: seeded, recorded attacks that an isolated device never lands.</summary>
public sealed class RogueDeviceTests
{
    private readonly Bed _bed = new();

    [Fact]
    public void Run_SameSeed_SameAttempts()
    {
        var a = Rogue(_bed, seed: 42);
        var b = Rogue(new Bed(), seed: 42);
        var c = Rogue(new Bed(), seed: 43);

        a.Run(500);
        b.Run(500);
        c.Run(500);

        Assert.Equal(a.Attempts, b.Attempts);
        Assert.NotEqual(a.Attempts.Select(x => (x.BusAddress, x.Access)), c.Attempts.Select(x => (x.BusAddress, x.Access)));
    }

    [Fact]
    public void Run_IsolatedDevice_EveryAttemptFaultsAndNoByteChanges()
    {
        var domain = _bed.Attach(Bed.Rogue);
        domain.Map(0x10, Bed.RamFirst, 4);

        // Freed pages: the device's domain once mapped dfn 0x20.. and has unmapped them.
        domain.Map(0x20, Bed.SpareFirst + 0x500, 4);
        domain.Unmap(0x20, 4);
        var rogue = Rogue(_bed, seed: 7);
        var watched = Snapshot.Sample(Bed.SpareFirst, 0x1000, 16)
            .Concat(Snapshot.Sample(Bed.TableFirst, Bed.TablePages, 64))
            .Concat(Enumerable.Range(0, 4).Select(i => Bed.SpareFirst + 0x500 + (ulong)i));
        var snapshot = new Snapshot(_bed.Memory, watched);

        Assert.Equal(0, rogue.Run(2000));

        Assert.All(rogue.Attempts, a => Assert.False(a.Breached));
        Assert.Empty(snapshot.Changed());
        Assert.Equal(0, rogue.Breaches);
        foreach (var kind in Enum.GetValues<RogueTargetKind>())
        {
            var tally = rogue.Tally(kind);
            Assert.True(tally.Attempts > 0, $"no attempt against {kind}");
            Assert.Equal(tally.Attempts, tally.Faults);
        }

        Assert.Equal(2000, rogue.Counters.Faults);
        Assert.Equal(2000, rogue.Counters.Transfers);
        Assert.Equal(0, rogue.Counters.Bytes);
        Assert.Equal(2000, _bed.Machine.TotalFaults);
    }

    [Fact]
    public void Run_DeviceWithNoContext_IsBlockedEveryTime()
    {
        var rogue = Rogue(_bed, seed: 1);

        rogue.Run(100);

        Assert.All(rogue.Attempts, a => Assert.Equal(FaultReason.Blocked, a.Result.Reason));
    }

    [Fact]
    public void Run_OneTargetLeftMapped_BreachesOnlyThereAndCountsAddUp()
    {
        // A "freed" page the domain forgot to unmap: the one hole.
        var domain = _bed.Attach(Bed.Rogue);
        domain.Map(0x20, Bed.SpareFirst + 0x500, 1);
        var rogue = Rogue(_bed, seed: 9);

        var breaches = rogue.Run(1000);

        Assert.True(breaches > 0);
        Assert.All(rogue.Attempts.Where(a => a.Breached), a =>
        {
            Assert.Equal(RogueTargetKind.FreedPage, a.Target.Kind);
            Assert.Equal(0x20_000UL, a.BusAddress & ~0xFFFUL);
        });
        var written = rogue.Attempts.Where(a => a.Breached && a.Access == DmaAccess.Write).ToList();
        Assert.NotEmpty(written);
        Assert.NotEqual(new byte[4096], _bed.Peek((Bed.SpareFirst + 0x500) << 12, 4096));
        var counters = rogue.Counters;
        Assert.Equal(1000, counters.Transfers);
        Assert.Equal(1000 - breaches, counters.Faults);
        Assert.Equal(rogue.Attempts.Where(a => a.Breached).Sum(a => (long)a.Length), counters.Bytes);
        Assert.Equal(written.Sum(a => (long)a.Length), counters.BytesWritten);
        Assert.Equal(breaches, rogue.Breaches);
        Assert.Equal(1000, Enum.GetValues<RogueTargetKind>().Sum(k => rogue.Tally(k).Attempts));
    }

    [Fact]
    public void Step_LengthsStayInsideTheTargetAndTheLimit()
    {
        var rogue = new RogueDevice(_bed.Machine, Bed.Rogue, 5, [new RogueTarget(RogueTargetKind.Unmapped, 0x1000_0000, 100)], maxLength: 64);

        rogue.Run(500);

        Assert.All(rogue.Attempts, a =>
        {
            Assert.InRange(a.Length, 1, 64);
            Assert.InRange(a.BusAddress, 0x1000_0000UL, 0x1000_0000UL + 99);
            Assert.True(a.BusAddress + (ulong)a.Length <= 0x1000_0000UL + 100);
        });
    }

    [Fact]
    public void HistoryLimit_KeepsTheFirstAttemptsButTalliesAll()
    {
        var rogue = new RogueDevice(_bed.Machine, Bed.Rogue, 5, [new RogueTarget(RogueTargetKind.Unmapped, 0)], historyLimit: 10);

        rogue.Run(50);

        Assert.Equal(10, rogue.Attempts.Count);
        Assert.Equal(50, rogue.AttemptCount);
        Assert.Equal(50, rogue.Tally(RogueTargetKind.Unmapped).Attempts);
    }

    [Fact]
    public void Constructor_NoTargetsOrAWrappingOne_Throws()
    {
        Assert.Throws<ArgumentException>(() => new RogueDevice(_bed.Machine, Bed.Rogue, 1, []));
        Assert.Throws<ArgumentException>(() => new RogueDevice(_bed.Machine, Bed.Rogue, 1, [new RogueTarget(RogueTargetKind.Unmapped, ulong.MaxValue, 2)]));
    }

    /// <summary>A rogue device at the DomU NIC aimed at every kind of target in the bed.</summary>
    private static RogueDevice Rogue(Bed bed, ulong seed)
    {
        var targets = RogueTarget.Frames(RogueTargetKind.OtherDomain, Enumerable.Range(0, 8).Select(i => (Bed.SpareFirst + (ulong)i * 97) << 12))
            .Concat(RogueTarget.Frames(RogueTargetKind.Hypervisor, Enumerable.Range(0, 4).Select(i => (Bed.TableFirst + (ulong)i) << 12)))
            .Append(new RogueTarget(RogueTargetKind.FreedPage, 0x20_000, 4 * 4096))
            .Append(new RogueTarget(RogueTargetKind.Unmapped, 0x7FFF_0000_0000, 1 << 20));
        return new RogueDevice(bed.Machine, Bed.Rogue, seed, targets, maxLength: 8192);
    }
}
