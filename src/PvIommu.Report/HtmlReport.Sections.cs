using System.Globalization;
using System.Text;
using PvIommu.Simulation.Results;

namespace PvIommu.Report;

/// <summary>The sections of the page.</summary>
public static partial class HtmlReport
{
    private static string I(long v) => Format.Count(v);

    private static void Checks(StringBuilder o, SimulationResult r)
    {
        Section(o, "checks", "Checks", "What the run verified about itself before and after teardown.");
        o.Append("<table><tbody>");
        foreach (var c in r.Checks)
        {
            o.Append($"<tr><td class=\"{(c.Passed ? "ok" : "fail")}\">{(c.Passed ? "ok" : "FAIL")}</td><td>{Svg.E(c.Name)}</td><td>{Svg.E(c.Detail)}</td></tr>");
        }

        o.Append("</tbody></table>\n");
    }

    private static void Summary(StringBuilder o, SimulationResult r)
    {
        Section(o, "summary", "Summary", "Modelled time: hypercalls, PTE writes and IOTLB invalidations are the control path (CPU); page walks and transfers are the device side (docs/cost-model.md).");
        o.Append("<h3>Domains</h3>");
        Table(o, ["domain", "type", "pv_iommu", "driver", "hypercalls", "iommu ops", "invalidations", "PTE writes", "DMA", "faults", "arena used / peak / size", "modelled CPU", "modelled device"],
            r.Domains.Select(d => new[]
            {
                $"d{d.Id} {d.Name}", d.Type, d.PvIommu, d.Driver, I(d.Hypercalls), I(d.IommuOps), I(d.Invalidations), I(d.PteWrites), Format.Bytes(d.DmaBytes), I(d.Faults),
                $"{d.ArenaInUse} / {d.ArenaPeak} / {d.ArenaPages}", Format.Time(d.Modelled.ControlNs), Format.Time(d.Modelled.DeviceNs),
            }));
        o.Append("<h3>Devices</h3><div class=\"wide\">");
        Table(o, ["device", "class", "domain", "context", "unit", "workload", "mapping", "operations", "read", "written", "faults", "hypercalls", "invalidations", "PTE writes", "IOTLB hits", "misses", "walk steps", "modelled CPU", "modelled device"],
            r.Devices.Select(d => new[]
            {
                d.Device, d.Class, d.Domain, d.Context.ToString(CultureInfo.InvariantCulture), d.Unit, d.Workload, d.Mapping, I(d.Operations), Format.Bytes(d.BytesRead), Format.Bytes(d.BytesWritten),
                I(d.Faults), I(d.Hypercalls), I(d.Invalidations), I(d.PteWrites), I(d.IotlbHits), I(d.IotlbMisses), I(d.WalkSteps), Format.Time(d.Modelled.ControlNs), Format.Time(d.Modelled.DeviceNs),
            }));
        o.Append("</div>");
        foreach (var d in r.Devices)
        {
            o.Append($"<details><summary>{Svg.E(d.Device)} ({Svg.E(d.Workload)}): details</summary>");
            Table(o, ["figure", "value"], d.Details.Select(x => new[] { x.Key, x.Value }));
            o.Append("</details>");
        }

        o.Append("<h3>IOMMU units</h3>");
        Table(o, ["unit", "format", "levels", "scope", "translations", "IOTLB hits", "misses", "walks", "walk steps", "invalidations", "faults", "fault records dropped"],
            r.Units.Select(u => new[]
            {
                u.Name, u.Format, u.Levels.ToString(CultureInfo.InvariantCulture), u.Scope, I(u.Translations), I(u.IotlbHits), I(u.IotlbMisses), I(u.Walks), I(u.WalkSteps), I(u.Invalidations), I(u.Faults), I(u.FaultsDropped),
            }));
        o.Append($"<h3>Blocked ({I(r.FaultsTotal)} faults)</h3>");
        Table(o, ["device", "target", "reason", "requests"], r.Blocked.Select(b => new[] { b.Device, b.Target, b.Reason, I(b.Count) }));
    }

    private static void Maps(StringBuilder o, SimulationResult r)
    {
        Section(o, "maps", "Address spaces", "Each context's device address space at the end of the run: blocks are mapped ranges (width grows with the logarithm of the size), hatched spacers are unmapped gaps. Hover for addresses.");
        foreach (var c in r.Contexts)
        {
            o.Append(AddressMap.Render(c));
            o.Append($"<details><summary>{c.Ranges.Count} ranges, devices: {Svg.E(c.Devices.Count == 0 ? "none" : string.Join(", ", c.Devices))}</summary>");
            Table(o, ["first address", "size", "what"], c.Ranges.Select(x => new[] { Format.Hex(x.StartDfn << 12), Format.Bytes((long)(x.Frames << 12)), x.Label }));
            o.Append("</details>");
        }
    }

    private static void Timeline(StringBuilder o, SimulationResult r)
    {
        var t = r.Timeline;
        Section(o, "timeline", "Over simulated time", $"One point per {Format.Time(t.BucketNs)} of simulated time.");
        var xs = t.Points.Select(p => (double)p.TimeNs).ToList();
        o.Append("<div class=\"grid\">");
        o.Append(Svg.Lines("Hypercalls and IOTLB invalidations", "per point", xs,
            [("hypercalls", [.. t.Points.Select(p => (double)p.Hypercalls)]), ("IOTLB invalidations", [.. t.Points.Select(p => (double)p.Invalidations)])], Format.Time, Format.Count));
        o.Append(Svg.Lines("DMA bytes", "per point", xs, [("DMA bytes", [.. t.Points.Select(p => (double)p.DmaBytes)])], Format.Time, v => Format.Bytes((long)v)));
        o.Append(Svg.Lines("Faults", "per point", xs, [("faults", [.. t.Points.Select(p => (double)p.Faults)])], Format.Time, Format.Count));
        o.Append("</div>");
    }

    private static void Latency(StringBuilder o, SimulationResult r)
    {
        Section(o, "latency", "DMA latency", "Modelled latency of one operation (a received frame, an I/O, a transfer, an attempt): its share of the map/unmap hypercalls and invalidations, its page walks and its transfer time. Power-of-two buckets.");
        o.Append("<div class=\"grid\">");
        foreach (var d in r.Devices)
        {
            var h = d.Latency;
            var first = Math.Max(0, h.Counts.ToList().FindIndex(c => c > 0));
            var last = Math.Max(first, h.Counts.ToList().FindLastIndex(c => c > 0));
            var labels = Enumerable.Range(first, last - first + 1).Select(i => Format.Time(h.LowerBoundsNs[i])).ToList();
            var values = Enumerable.Range(first, last - first + 1).Select(i => (double)h.Counts[i]).ToList();
            o.Append(Svg.Bars($"{d.Device} {d.Workload}: mean {Format.Time(h.MeanNs)}, p50 ≤ {Format.Time(h.P50Ns)}, p99 ≤ {Format.Time(h.P99Ns)}", labels, [("operations", values)], Format.Count));
        }

        o.Append("</div>");
    }

    private static void FaultLog(StringBuilder o, SimulationResult r)
    {
        Section(o, "faults", "Fault log", $"{I(r.FaultsTotal)} faults detected; the first {Math.Min(r.Faults.Count, SimulationResult.FaultLogLimit)} records as Xen drained them from the units after each epoch.");
        Table(o, ["time", "unit", "#", "requester", "address", "access", "reason"],
            r.Faults.Select(f => new[] { Format.Time(f.TimeNs), f.Unit, I(f.Sequence), f.Requester, Format.Hex(f.Address), f.Access, f.Reason }), "faults");
    }

    private static void Arena(StringBuilder o, SimulationResult r)
    {
        var t = r.Timeline;
        Section(o, "arena", "Arena occupancy", "Page-table pages in use in each domain's arena (its contexts' tables), over simulated time.");
        var xs = t.Points.Select(p => (double)p.TimeNs).ToList();
        var series = t.Domains.Select((name, i) => (name, (IReadOnlyList<double>)[.. t.Points.Select(p => (double)p.ArenaPages[i])])).ToList();
        o.Append(Svg.Lines("Arena pages in use", "pages", xs, series, Format.Time, Format.Count));
        Table(o, ["domain", "arena pages", "in use at the end", "peak"], r.Domains.Select(d => new[] { d.Name, I(d.ArenaPages), I(d.ArenaInUse), I(d.ArenaPeak) }));
    }

    private static void Compare(StringBuilder o, Comparison c)
    {
        Section(o, "compare", $"Comparison: {c.Key} = {string.Join(" vs ", c.Values)}", "The same scenario and seed under each value.");
        var headers = new List<string> { "figure" };
        headers.AddRange(c.Values.Select(v => $"{c.Key}={v}"));
        headers.Add("change");
        Table(o, [.. headers], c.Rows.Select(row => (string[])[row.Figure, .. row.Values.Select(v => Format.Count(v)), Format.Change(row.Values[0], row.Values[^1])]));
        var main = c.Rows.Take(8).ToList();
        var series = c.Values.Select((v, i) => ($"{c.Key}={v}", (IReadOnlyList<double>)[.. main.Select(row => row.Values[i])])).ToList();
        o.Append(Svg.HBars("The main figures under each value", [.. main.Select(row => row.Figure.Replace(" (ns)", string.Empty, StringComparison.Ordinal))], series, Format.Count));
    }

    private static void Settings(StringBuilder o, SimulationResult r)
    {
        Section(o, "settings", "Settings");
        Table(o, ["key", "value"], r.Settings.Select(s => new[] { s.Key, s.Value }));
    }
}
