using System.Globalization;
using PvIommu.Hypervisor.Domains;
using PvIommu.Hypervisor.Iommu;
using PvIommu.Platform.PageTables;
using PvIommu.Simulation.Results;
using PvIommu.Simulation.Scenarios;
using PvIommu.Simulation.Workloads;

namespace PvIommu.Simulation.Running;

/// <summary>Turning the run into results.</summary>
internal sealed partial class Recorder
{
    public SimulationResult Collect(int epochs, int stride)
    {
        var scenario = _context.Scenario;
        var fullEpochs = (epochs + stride - 1) / stride;
        var scale = (double)epochs / fullEpochs;
        var devices = _workloads.Select(w => Device(w, scale)).ToList();
        var domains = _context.Kernels.Select(k => Domain(k, devices, scale)).ToList();
        var blocked = _workloads.SelectMany(w => w.Blocked() ?? []).ToList();
        var rogues = _workloads.OfType<RogueWorkload>().Select(w => w.Spec.Device.ToString()).ToHashSet(StringComparer.Ordinal);
        blocked.AddRange(_blocked.Where(b => !rogues.Contains(b.Key.Device)).OrderBy(b => b.Key.Device, StringComparer.Ordinal).ThenBy(b => b.Key.Reason, StringComparer.Ordinal)
            .Select(b => new BlockedResult(b.Key.Device, "-", b.Key.Reason, b.Value)));
        return new SimulationResult
        {
            Scenario = scenario.Name,
            Description = scenario.Description,
            Seed = scenario.Seed,
            DurationNs = scenario.DurationNs,
            Detail = 1.0 / stride,
            Settings = Settings(scenario),
            Domains = domains,
            Devices = devices,
            Contexts = Contexts(),
            Units = UnitResults(scale),
            Faults = _faults,
            FaultsTotal = _context.Host.Machine.Units.Sum(u => u.Faults.Detected),
            Blocked = blocked,
            Checks = [],
            Timeline = Timeline(),
        };
    }

    private static List<Setting> Settings(Scenario s)
    {
        static string F(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);
        return
        [
            new("host.superpages", s.Host.Superpages ? "true" : "false"),
            new("driver.policy", Lower(s.Driver.Policy)),
            new("driver.batch", s.Driver.Batch.ToString(CultureInfo.InvariantCulture)),
            new("driver.flush_timeout", Units.FormatDuration(s.Driver.FlushTimeoutNs)),
            new("driver.superpages", s.Driver.Superpages ? "true" : "false"),
            new("driver.batch_runs", s.Driver.BatchRuns ? "true" : "false"),
            new("driver.arena_order", s.Driver.ArenaOrder.ToString(CultureInfo.InvariantCulture)),
            new("driver.max_contexts", s.Driver.MaxContexts.ToString(CultureInfo.InvariantCulture)),
            new("cost.hypercall", F(s.Cost.HypercallNs) + " ns"),
            new("cost.pte_write", F(s.Cost.PteWriteNs) + " ns"),
            new("cost.walk_step", F(s.Cost.WalkStepNs) + " ns"),
            new("cost.iotlb_invalidation", F(s.Cost.IotlbInvalidationNs) + " ns"),
            new("cost.device_transfer", F(s.Cost.DeviceBytesPerSecond / 1e9) + " GB/s"),
            new("duration", Units.FormatDuration(s.DurationNs)),
            new("epoch", Units.FormatDuration(s.EpochNs)),
        ];
    }

    private DeviceResult Device(Workload w, double scale)
    {
        long S(long v) => (long)Math.Round(v * scale);
        var counters = w.Device.Dma.Counters;
        var calls = w.Calls;
        var walks = w.Walks;
        var modelled = _context.Model(calls, walks, counters.Bytes);
        var state = _context.Host.DeviceState(w.Spec.Device);
        var h = w.Latency;
        return new DeviceResult
        {
            Device = w.Spec.Device.ToString(),
            Class = Lower(_context.Built.Functions[w.Spec.Device].Class),
            Domain = w.Kernel.Spec.Name,
            Context = state?.Context.Number ?? -1,
            Unit = w.Unit.Name,
            Workload = w.Spec.Kind,
            Mapping = w.Mapping,
            Operations = S(w.Operations),
            BytesRead = S(counters.BytesRead),
            BytesWritten = S(counters.BytesWritten),
            Transfers = S(counters.Transfers),
            Faults = S(counters.Faults),
            Hypercalls = S(calls.Traps),
            Invalidations = S(calls.Invalidations),
            PteWrites = S(calls.PteWrites),
            IotlbHits = S(walks.IotlbHits),
            IotlbMisses = S(walks.IotlbMisses),
            WalkSteps = S(walks.WalkSteps),
            Modelled = new ModelledTime(modelled.HypercallNs * scale, modelled.PteNs * scale, modelled.InvalidationNs * scale, modelled.WalkNs * scale, modelled.TransferNs * scale),
            Latency = new HistogramResult(
                [.. Enumerable.Range(0, Histogram.Buckets).Select(Histogram.LowerBound)],
                [.. h.Counts],
                h.Mean,
                h.Quantile(0.5),
                h.Quantile(0.99),
                h.Max),
            Details = [.. w.Details()],
        };
    }

    private DomainResult Domain(GuestKernel kernel, List<DeviceResult> devices, double scale)
    {
        var mine = devices.Where(d => d.Domain == kernel.Spec.Name).ToList();
        var probe = kernel.ProbeCost;
        var probeTime = _context.Model(probe, default, 0);
        var arena = kernel.Domain.Iommu.Arena;
        var driver = kernel.Driver;
        return new DomainResult
        {
            Id = kernel.Domain.Id,
            Name = kernel.Spec.Name,
            Type = Lower(kernel.Spec.Type),
            PvIommu = kernel.Domain.Policy switch
            {
                PvIommuPolicy.On => "on",
                PvIommuPolicy.CapsOnly => "caps-only",
                _ => "off",
            },
            Driver = driver.Describe(),
            PvIommuAvailable = driver.IsAvailable,
            Hypercalls = probe.Traps + mine.Sum(d => d.Hypercalls),
            IommuOps = probe.Ops + (long)Math.Round(_workloads.Where(w => w.Kernel == kernel).Sum(w => w.Calls.Ops) * scale),
            Invalidations = probe.Invalidations + mine.Sum(d => d.Invalidations),
            PteWrites = probe.PteWrites + mine.Sum(d => d.PteWrites),
            DmaBytes = mine.Sum(d => d.BytesRead + d.BytesWritten),
            Faults = mine.Sum(d => d.Faults),
            ArenaPages = arena?.Capacity ?? 0,
            ArenaInUse = arena?.InUse ?? 0,
            ArenaPeak = arena?.Peak ?? 0,
            Modelled = mine.Aggregate(probeTime, (sum, d) => sum + d.Modelled),
        };
    }

    private List<ContextResult> Contexts()
    {
        var bits = 12 + (PageLevel.Bits * _context.Host.Levels);
        var list = new List<ContextResult>();
        foreach (var domain in Domains.Append(_context.Host.DomIo))
        {
            foreach (var ctx in domain.Iommu.AllContexts.OrderBy(c => c.Number))
            {
                if (domain.IsDomIo && ctx.Devices.Count == 0)
                {
                    continue;
                }

                var ranges = new List<RangeResult>();
                if (ctx.Kind is ContextKind.DefaultIdentity or ContextKind.DefaultShared or ContextKind.Identity)
                {
                    ranges.AddRange(RamRuns(domain, ctx.Kind == ContextKind.DefaultIdentity ? "RAM 1:1 (dfn = mfn)" : "RAM (dfn = gfn)"));
                }

                ranges.AddRange(ctx.ReservedRegions.Keys.Select(r => new RangeResult(r.Start.Value, r.Frames, r.Name + " (reserved)")));
                foreach (var w in _workloads.Where(w => ctx.Devices.Contains(w.Spec.Device)))
                {
                    ranges.AddRange(w.Ranges());
                }

                list.Add(new ContextResult
                {
                    Domain = domain.IsDomIo ? "dom_io" : domain.Name,
                    Number = ctx.Number,
                    Kind = KindName(ctx.Kind),
                    Devices = [.. ctx.Devices.Select(d => d.ToString())],
                    MappedFrames = ctx.MappedFrames,
                    TablePages = ctx.TablePages,
                    AddressBits = bits,
                    Ranges = [.. ranges.OrderBy(r => r.StartDfn)],
                });
            }
        }

        return list;
    }

    private static IEnumerable<RangeResult> RamRuns(Domain domain, string label)
    {
        ulong? start = null;
        ulong length = 0;
        var runs = new List<RangeResult>();
        foreach (var (gfn, entry) in domain.P2m.Entries().Where(e => P2m.IsRam(e.Entry.Type)).OrderBy(e => e.Gfn))
        {
            var dfn = domain.Kind == DomainKind.Pv ? entry.Mfn.Value : gfn;
            if (start is { } s && s + length == dfn)
            {
                length++;
                continue;
            }

            if (start is { } done)
            {
                runs.Add(new RangeResult(done, length, label));
            }

            start = dfn;
            length = 1;
        }

        if (start is { } last)
        {
            runs.Add(new RangeResult(last, length, label));
        }

        return runs.Take(32);
    }

    /// <summary>The units' counters, scaled like the devices' when epochs were extrapolated.</summary>
    private List<UnitResult> UnitResults(double scale) =>
    [
        .. _context.Host.Machine.Units.Select(u =>
        {
            long S(long v) => (long)Math.Round(v * scale);
            var c = u.Counters;
            return new UnitResult
            {
                Name = u.Name,
                Format = u.Format == PageTableFormat.AmdV1 ? "amd-v1" : "vt-d",
                Levels = u.Levels,
                Scope = u.Description.Scope.ToString(),
                Translations = S(c.Translations),
                IotlbHits = S(c.Iotlb.Hits),
                IotlbMisses = S(c.Iotlb.Misses),
                Walks = S(c.Walks),
                WalkSteps = S(c.WalkSteps),
                Invalidations = S(c.Iotlb.Invalidations),
                Faults = S(c.Faults),
                FaultsDropped = S(u.Faults.Dropped),
            };
        }),
    ];
}
