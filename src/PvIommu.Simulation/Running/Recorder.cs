using PvIommu.Hypervisor.Domains;
using PvIommu.Hypervisor.Iommu;
using PvIommu.Platform.Pci;
using PvIommu.Simulation.Results;
using PvIommu.Simulation.Workloads;

namespace PvIommu.Simulation.Running;

/// <summary>
/// Watches a run: after each epoch it drains the units' fault logs (as Xen's fault handler
/// does) and samples the counters for the timeline; at the end it turns everything into a
/// <see cref="SimulationResult"/>.
/// </summary>
internal sealed partial class Recorder
{
    private const int MaxPoints = 200;

    private readonly SimContext _context;
    private readonly List<Workload> _workloads;
    private readonly List<FaultResult> _faults = [];
    private readonly Dictionary<(string Device, string Reason), long> _blocked = [];
    private readonly List<(long TimeNs, long Hypercalls, long Invalidations, long Bytes, long Faults, long[] Arena)> _epochs = [];
    private (long Hypercalls, long Invalidations, long Bytes, long Faults) _last;
    private (long Hypercalls, long Invalidations, long Bytes, long Faults) _lastDelta;

    public Recorder(SimContext context, List<Workload> workloads)
    {
        _context = context;
        _workloads = workloads;
        _last = Totals();
    }

    private IEnumerable<Domain> Domains => _context.Kernels.Select(k => k.Domain);

    public void EndEpoch(long endNs, bool full)
    {
        DrainFaults(endNs);
        var now = Totals();
        var delta = full
            ? (now.Hypercalls - _last.Hypercalls, now.Invalidations - _last.Invalidations, now.Bytes - _last.Bytes, now.Faults - _last.Faults)
            : _lastDelta;
        _last = now;
        _lastDelta = delta;
        var arena = Domains.Select(d => (long)(d.Iommu.Arena?.InUse ?? 0)).ToArray();
        _epochs.Add((endNs, delta.Item1, delta.Item2, delta.Item3, delta.Item4, arena));
    }

    public void DrainFaults(long nowNs)
    {
        var topology = _context.Host.Machine.Topology;
        foreach (var unit in _context.Host.Machine.Units)
        {
            foreach (var record in unit.Faults.Drain())
            {
                var owner = topology.OwnerOf(record.Requester)?.Sbdf ?? record.Requester;
                var reason = RogueWorkload.ReasonName(record.Reason);
                var key = (owner.ToString(), reason);
                _blocked[key] = _blocked.GetValueOrDefault(key) + 1;
                if (_faults.Count < SimulationResult.FaultLogLimit)
                {
                    _faults.Add(new FaultResult(nowNs, unit.Name, record.Sequence, record.Requester.ToString(), record.Address, record.Access.ToString().ToLowerInvariant(), reason));
                }
            }

            unit.Faults.ClearOverflow();
        }
    }

    private (long Hypercalls, long Invalidations, long Bytes, long Faults) Totals()
    {
        var host = _context.Host.Counters;
        var bytes = _workloads.Sum(w => w.Device.Dma.Counters.Bytes);
        return (host.Hypercalls, host.IotlbInvalidations, bytes, _context.Host.Machine.TotalFaults);
    }

    private TimelineResult Timeline()
    {
        var perPoint = Math.Max(1, (_epochs.Count + MaxPoints - 1) / MaxPoints);
        var points = new List<TimelinePoint>();
        for (var i = 0; i < _epochs.Count; i += perPoint)
        {
            var slice = _epochs.Skip(i).Take(perPoint).ToList();
            points.Add(new TimelinePoint(
                slice[^1].TimeNs,
                slice.Sum(s => s.Hypercalls),
                slice.Sum(s => s.Invalidations),
                slice.Sum(s => s.Bytes),
                slice.Sum(s => s.Faults),
                [.. slice[^1].Arena]));
        }

        return new TimelineResult(_context.Scenario.EpochNs * perPoint, [.. Domains.Select(d => d.Name)], points);
    }

    private static string KindName(ContextKind kind) => kind switch
    {
        ContextKind.DefaultIdentity => "default (identity)",
        ContextKind.DefaultShared => "default (p2m)",
        ContextKind.DefaultBlocked => "default (blocked)",
        ContextKind.Paging => "paging",
        _ => "identity",
    };

    private static string Lower(Enum value) => value.ToString().ToLowerInvariant();

    private static string Sbdfs(IEnumerable<Sbdf> devices) => string.Join(", ", devices);
}
