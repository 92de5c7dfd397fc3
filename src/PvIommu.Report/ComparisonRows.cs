using PvIommu.Simulation.Results;

namespace PvIommu.Report;

/// <summary>Which figures a comparison puts side by side.</summary>
internal static class ComparisonRows
{
    public static IReadOnlyList<ComparisonRow> Build(Comparison c)
    {
        var rows = new List<ComparisonRow>();
        void Add(string name, Func<SimulationResult, double> figure) => rows.Add(new ComparisonRow(name, [.. c.Results.Select(figure)]));

        Add("hypercalls", r => r.Domains.Sum(d => d.Hypercalls));
        Add("iommu_op operations", r => r.Domains.Sum(d => d.IommuOps));
        Add("IOTLB invalidations", r => r.Domains.Sum(d => d.Invalidations));
        Add("PTE writes", r => r.Domains.Sum(d => d.PteWrites));
        Add("DMA bytes", r => r.Domains.Sum(d => d.DmaBytes));
        Add("faults", r => r.FaultsTotal);
        Add("arena pages in use (peak)", r => r.Domains.Sum(d => d.ArenaPeak));
        Add("table pages (every context, at the end)", r => r.Contexts.Sum(x => x.TablePages));
        Add("IOTLB misses", r => r.Devices.Sum(d => d.IotlbMisses));
        Add("modelled control-path time (ns)", r => r.Domains.Sum(d => d.Modelled.ControlNs));
        Add("modelled device time (ns)", r => r.Domains.Sum(d => d.Modelled.DeviceNs));
        var devices = c.Results[0].Devices.Select(d => d.Device).ToList();
        foreach (var device in devices)
        {
            Add($"{device}: hypercalls", r => r.Devices.FirstOrDefault(d => d.Device == device)?.Hypercalls ?? 0);
            Add($"{device}: invalidations", r => r.Devices.FirstOrDefault(d => d.Device == device)?.Invalidations ?? 0);
            Add($"{device}: IOTLB misses", r => r.Devices.FirstOrDefault(d => d.Device == device)?.IotlbMisses ?? 0);
            Add($"{device}: mean latency (ns)", r => r.Devices.FirstOrDefault(d => d.Device == device)?.Latency.MeanNs ?? 0);
            Add($"{device}: faults", r => r.Devices.FirstOrDefault(d => d.Device == device)?.Faults ?? 0);
        }

        return rows;
    }
}
