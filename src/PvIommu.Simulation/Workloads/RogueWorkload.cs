using System.Globalization;
using PvIommu.Devices;
using PvIommu.Devices.Rogue;
using PvIommu.Guest.Dma;
using PvIommu.Simulation.Results;
using PvIommu.Simulation.Running;
using PvIommu.Simulation.Scenarios;

namespace PvIommu.Simulation.Workloads;

/// <summary>
/// A rogue device of dom0. Its driver gives it a context of its own through the DMA API, maps a
/// few pages for it and unmaps some again; the device then aims DMA at other domains' RAM, at
/// the hypervisor's page-table frames, at the IOVAs that were unmapped, and at addresses nothing
/// was mapped at. Every attempt, blocked or not, is recorded.
/// </summary>
internal sealed class RogueWorkload : Workload
{
    private const int FreedPages = 8;

    private readonly RogueSpec _spec;
    private readonly Dictionary<(RogueTargetKind, string), long> _tally = [];
    private RogueDevice? _rogue;
    private DmaDevice? _dma;
    private ulong _bufferIova;

    public RogueWorkload(SimContext context, RogueSpec spec)
        : base(context, spec, spec.AttemptsPerSecond)
    {
        _spec = spec;
    }

    public override IDmaDevice Device => _rogue!;

    public override string Mapping => Describe(_dma);

    public long Breaches => _rogue?.Breaches ?? 0;

    public override void Setup()
    {
        var environment = CreateEnvironment();
        _dma = environment.Dma;
        var before = environment.Spent;
        var memory = Kernel.Memory;

        // What its driver legitimately gives it: one buffer that stays mapped, and pages it maps
        // and unmaps again (the device keeps their IOVAs: a use-after-unmap attempt).
        environment.TryAllocatePage(out var buffer);
        environment.TryMap([buffer], Devices.Drivers.DmaDirection.FromDevice, out _bufferIova);
        var freed = new List<ulong>();
        for (var i = 0; i < FreedPages; i++)
        {
            environment.TryAllocatePage(out var page);
            if (environment.TryMap([page], Devices.Drivers.DmaDirection.Bidirectional, out var iova))
            {
                freed.Add(iova);
                environment.Unmap(iova, 1, Devices.Drivers.DmaDirection.Bidirectional);
            }
        }

        Charge(environment.Spent - before, default);
        var targets = new List<RogueTarget>();
        if ((_spec.Targets & RogueTargets.OtherDomain) != 0)
        {
            foreach (var other in Context.Kernels.Where(k => k != Kernel))
            {
                // Machine addresses of the other domain's RAM: what a device without an IOMMU would reach.
                var gfn = other.Memory.FirstGfn + 256;
                targets.AddRange(RogueTarget.Frames(RogueTargetKind.OtherDomain, Enumerable.Range(0, 16).Select(i => other.Memory.MfnOf(gfn + (ulong)i).Address)));
            }
        }

        if ((_spec.Targets & RogueTargets.Hypervisor) != 0 && Kernel.Domain.Iommu.Arena is { } arena)
        {
            targets.Add(new RogueTarget(RogueTargetKind.Hypervisor, arena.First.Address, (ulong)Math.Min(arena.Capacity, 64) << 12));
        }

        if ((_spec.Targets & RogueTargets.FreedPage) != 0)
        {
            targets.AddRange(RogueTarget.Frames(RogueTargetKind.FreedPage, freed));
        }

        if ((_spec.Targets & RogueTargets.Unmapped) != 0)
        {
            targets.Add(new RogueTarget(RogueTargetKind.Unmapped, 0x7F00_0000_0000, 1 << 20));
            targets.Add(new RogueTarget(RogueTargetKind.Unmapped, 1UL << 58, 1 << 20));
        }

        if (targets.Count == 0)
        {
            targets.Add(new RogueTarget(RogueTargetKind.Unmapped, 0x7F00_0000_0000, 1 << 20));
        }

        _rogue = new RogueDevice(Context.Host.Machine, Spec.Device, Random.Next(), targets);
    }

    public override void Poll() => _dma?.Poll();

    public override IEnumerable<RangeResult> Ranges() => _dma?.IsProtected == true ? LiveRanges("driver buffer") : [];

    public override IEnumerable<Setting> Details()
    {
        var details = new List<Setting>
        {
            new("attempts", (_rogue?.AttemptCount ?? 0).ToString(CultureInfo.InvariantCulture)),
            new("breaches", Breaches.ToString(CultureInfo.InvariantCulture)),
        };
        foreach (var kind in Enum.GetValues<RogueTargetKind>())
        {
            var tally = _rogue?.Tally(kind) ?? default;
            if (tally.Attempts > 0)
            {
                details.Add(new($"{Name(kind)}: attempts / blocked", $"{tally.Attempts} / {tally.Faults}"));
            }
        }

        return details;
    }

    public override IEnumerable<CheckResult> Checks()
    {
        var attempts = _rogue?.AttemptCount ?? 0;
        yield return new CheckResult(
            $"{Spec.Device} (rogue) is caught: every attempt blocked and in the fault log",
            Breaches == 0 && attempts > 0,
            $"{attempts} attempts, {Breaches} got through");
    }

    public override IEnumerable<BlockedResult> Blocked() =>
        _tally.OrderBy(t => t.Key.Item1).ThenBy(t => t.Key.Item2, StringComparer.Ordinal)
            .Select(t => new BlockedResult(Spec.Device.ToString(), Name(t.Key.Item1), t.Key.Item2, t.Value));

    public override void Teardown() => _dma?.Shutdown();

    protected override void RunOperations(long count, long startNs, long endNs)
    {
        for (long i = 0; i < count; i++)
        {
            var before = Meter.Walks(Unit);
            var attempt = _rogue!.Step();
            var walks = Meter.Walks(Unit) - before;
            Charge(default, walks);
            Operations++;
            var reason = attempt.Breached ? "got through" : ReasonName(attempt.Result.Reason);
            var key = (attempt.Target.Kind, reason);
            _tally[key] = _tally.GetValueOrDefault(key) + 1;
            Latency.Add(Context.LatencyNs(default, walks, attempt.Length));
        }
    }

    internal static string ReasonName(Platform.Iommu.FaultReason reason) => reason switch
    {
        Platform.Iommu.FaultReason.NotMapped => "not mapped",
        Platform.Iommu.FaultReason.ReadNotPermitted => "read not permitted",
        Platform.Iommu.FaultReason.WriteNotPermitted => "write not permitted",
        Platform.Iommu.FaultReason.Blocked => "blocked (no context)",
        Platform.Iommu.FaultReason.BeyondWidth => "beyond address width",
        _ => reason.ToString(),
    };

    private static string Name(RogueTargetKind kind) => kind switch
    {
        RogueTargetKind.OtherDomain => "other domain's RAM",
        RogueTargetKind.Hypervisor => "hypervisor page tables",
        RogueTargetKind.FreedPage => "unmapped IOVA (use after unmap)",
        _ => "never-mapped address",
    };
}
