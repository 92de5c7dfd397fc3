using System.Text;
using PvIommu.Simulation.Results;

namespace PvIommu.Report;

/// <summary>
/// The summary printed in the terminal: per domain, per device and per context, DMA bytes,
/// faults, hypercalls, invalidations, arena pages and modelled time; what was blocked; and the
/// run's checks.
/// </summary>
public static class TextSummary
{
    /// <summary>One run.</summary>
    public static string Render(SimulationResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var o = new StringBuilder();
        o.Append($"pviommu simulate: {result.Scenario} (seed {result.Seed}, {Format.Time(result.DurationNs)} simulated");
        o.Append(result.Detail < 1 ? $", 1 epoch in {Math.Round(1 / result.Detail)} run in full, the rest extrapolated)\n" : ")\n");
        if (result.Description.Length > 0)
        {
            o.Append(result.Description).Append('\n');
        }

        o.Append("host: ").AppendJoin(", ", SettingsUnder(result, "host.")).Append('\n');
        o.Append("policy: ").AppendJoin(", ", SettingsUnder(result, "driver.")).Append('\n');

        o.Append("\nDomains\n");
        var domains = new TextTable("domain", "pv_iommu", "hypercalls", "invalidations", "PTE writes", "DMA", "faults", "arena used/peak/size", "modelled CPU", "modelled device");
        foreach (var d in result.Domains)
        {
            domains.Add($"d{d.Id} {d.Name}", d.PvIommu + (d.PvIommuAvailable ? string.Empty : " (fallback)"), Format.Count(d.Hypercalls), Format.Count(d.Invalidations), Format.Count(d.PteWrites),
                Format.Bytes(d.DmaBytes), Format.Count(d.Faults), $"{d.ArenaInUse}/{d.ArenaPeak}/{d.ArenaPages}", Format.Time(d.Modelled.ControlNs), Format.Time(d.Modelled.DeviceNs));
        }

        domains.Write(o);
        foreach (var d in result.Domains)
        {
            o.Append($"  d{d.Id}: {d.Driver}\n");
        }

        o.Append("\nDevices\n");
        var devices = new TextTable("device", "domain", "ctx", "workload", "mapping", "ops", "DMA", "faults", "hypercalls", "invalidations", "IOTLB miss", "latency mean/p99");
        foreach (var d in result.Devices)
        {
            devices.Add(d.Device, d.Domain, d.Context.ToString(System.Globalization.CultureInfo.InvariantCulture), d.Workload, d.Mapping, Format.Count(d.Operations), Format.Bytes(d.BytesRead + d.BytesWritten),
                Format.Count(d.Faults), Format.Count(d.Hypercalls), Format.Count(d.Invalidations), Format.Count(d.IotlbMisses), $"{Format.Time(d.Latency.MeanNs)} / {Format.Time(d.Latency.P99Ns)}");
        }

        devices.Write(o);

        o.Append("\nContexts\n");
        var contexts = new TextTable("domain", "ctx", "kind", "devices", "mapped", "table pages");
        foreach (var c in result.Contexts)
        {
            contexts.Add(c.Domain, c.Number.ToString(System.Globalization.CultureInfo.InvariantCulture), c.Kind, c.Devices.Count == 0 ? "-" : string.Join(" ", c.Devices), Format.Bytes(c.MappedFrames * 4096), Format.Count(c.TablePages));
        }

        contexts.Write(o);

        o.Append("\nIOMMU units\n");
        var units = new TextTable("unit", "format", "scope", "translations", "IOTLB hits", "misses", "walk steps", "invalidations", "faults");
        foreach (var u in result.Units)
        {
            units.Add(u.Name, $"{u.Format} {u.Levels}-level", u.Scope, Format.Count(u.Translations), Format.Count(u.IotlbHits), Format.Count(u.IotlbMisses), Format.Count(u.WalkSteps), Format.Count(u.Invalidations), Format.Count(u.Faults));
        }

        units.Write(o);

        o.Append($"\nBlocked ({Format.Count(result.FaultsTotal)} faults in the IOMMU fault logs)\n");
        if (result.Blocked.Count == 0)
        {
            o.Append("  nothing\n");
        }
        else
        {
            var blocked = new TextTable("device", "target", "reason", "requests");
            foreach (var b in result.Blocked)
            {
                blocked.Add(b.Device, b.Target, b.Reason, Format.Count(b.Count));
            }

            blocked.Write(o);
        }

        o.Append("\nChecks\n");
        foreach (var c in result.Checks)
        {
            o.Append(c.Passed ? "  ok    " : "  FAIL  ").Append(c.Name).Append(": ").Append(c.Detail).Append('\n');
        }

        return o.ToString();
    }

    /// <summary>A comparison: each figure under each value, with the change from the first.</summary>
    public static string Render(Comparison comparison)
    {
        ArgumentNullException.ThrowIfNull(comparison);
        var o = new StringBuilder();
        o.Append($"pviommu simulate --compare {comparison.Key}: {string.Join(" vs ", comparison.Values)} ({comparison.Results[0].Scenario}, seed {comparison.Results[0].Seed})\n\n");
        var headers = new List<string> { "figure" };
        headers.AddRange(comparison.Values.Select(v => $"{comparison.Key}={v}"));
        if (comparison.Values.Count > 1)
        {
            headers.Add("change");
        }

        var table = new TextTable([.. headers]);
        foreach (var row in comparison.Rows)
        {
            var cells = new List<string> { row.Figure };
            cells.AddRange(row.Values.Select(v => row.Figure.EndsWith("(ns)", StringComparison.Ordinal) ? Format.Time(v) : row.Figure.Contains("bytes", StringComparison.Ordinal) ? Format.Bytes((long)v) : Format.Count(v)));
            if (row.Values.Count > 1)
            {
                cells.Add(Format.Change(row.Values[0], row.Values[^1]));
            }

            table.Add([.. cells]);
        }

        table.Write(o);
        foreach (var (value, result) in comparison.Values.Zip(comparison.Results))
        {
            var failed = result.Checks.Where(c => !c.Passed).ToList();
            o.Append($"\n{comparison.Key}={value}: {(failed.Count == 0 ? "all checks passed" : string.Join("; ", failed.Select(f => $"FAIL {f.Name}: {f.Detail}")))}");
        }

        return o.Append('\n').ToString();
    }

    /// <summary>The settings whose key starts with <paramref name="prefix"/>, as "name value" without it.</summary>
    private static IEnumerable<string> SettingsUnder(SimulationResult result, string prefix) =>
        result.Settings.Where(s => s.Key.StartsWith(prefix, StringComparison.Ordinal)).Select(s => $"{s.Key[prefix.Length..]} {s.Value}");
}
