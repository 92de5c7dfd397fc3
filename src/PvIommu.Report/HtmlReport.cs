using System.Text;
using PvIommu.Simulation.Results;

namespace PvIommu.Report;

/// <summary>
/// One self-contained HTML page: no network, no external file; styles inline, charts as inline
/// SVG. A small inline script checks after load that every chart drew something and writes the
/// verdict into <c>#render-status</c> (the browser test reads it).
/// </summary>
public static partial class HtmlReport
{
    /// <summary>The page for <paramref name="result"/>, with <paramref name="comparison"/> when asked.</summary>
    public static string Render(SimulationResult result, Comparison? comparison = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        var o = new StringBuilder();
        o.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
        o.Append($"<title>pviommu simulate: {Svg.E(result.Scenario)}</title><style>{Style}</style>");
        o.Append("<script>window.pageErrors=[];window.addEventListener('error',function(e){window.pageErrors.push(String(e.message));});</script></head><body>\n");
        o.Append($"<h1>pviommu simulate: {Svg.E(result.Scenario)}</h1>");
        o.Append($"<p class=\"lead\">{Svg.E(result.Description)}</p>");
        o.Append($"<p>Seed {result.Seed}, {Svg.E(Format.Time(result.DurationNs))} of simulated time");
        o.Append(result.Detail < 1 ? $", one epoch in {Math.Round(1 / result.Detail)} run in full and the rest extrapolated" : string.Empty).Append(".</p>");
        o.Append("<nav>").AppendJoin(" · ", Sections(comparison).Select(s => $"<a href=\"#{s.Id}\">{s.Title}</a>")).Append("</nav>\n");
        Checks(o, result);
        Summary(o, result);
        Timeline(o, result);
        Maps(o, result);
        Latency(o, result);
        Arena(o, result);
        FaultLog(o, result);
        if (comparison is not null)
        {
            Compare(o, comparison);
        }

        Settings(o, result);
        o.Append("<div id=\"render-status\" data-status=\"pending\">pending</div>\n");
        o.Append($"<script>{Script}</script>\n</body></html>\n");
        return o.ToString();
    }

    private static IEnumerable<(string Id, string Title)> Sections(Comparison? comparison)
    {
        yield return ("checks", "Checks");
        yield return ("summary", "Summary");
        yield return ("timeline", "Over time");
        yield return ("maps", "Address spaces");
        yield return ("latency", "DMA latency");
        yield return ("arena", "Arena");
        yield return ("faults", "Fault log");
        if (comparison is not null)
        {
            yield return ("compare", "Comparison");
        }

        yield return ("settings", "Settings");
    }

    private static void Section(StringBuilder o, string id, string title, string? note = null)
    {
        o.Append($"\n<h2 id=\"{id}\">{Svg.E(title)}</h2>");
        if (note is not null)
        {
            o.Append($"<p class=\"note\">{Svg.E(note)}</p>");
        }
    }

    private static void Table(StringBuilder o, string[] headers, IEnumerable<string[]> rows, string? cssClass = null)
    {
        o.Append(cssClass is null ? "<table>" : $"<table class=\"{cssClass}\">").Append("<thead><tr>");
        foreach (var h in headers)
        {
            o.Append($"<th>{Svg.E(h)}</th>");
        }

        o.Append("</tr></thead><tbody>");
        foreach (var row in rows)
        {
            o.Append("<tr>");
            foreach (var cell in row)
            {
                var numeric = cell.Length > 0 && (char.IsDigit(cell[0]) || (cell[0] is '-' or '+' && cell.Length > 1 && char.IsDigit(cell[1])));
                o.Append(numeric ? "<td class=\"n\">" : "<td>").Append(Svg.E(cell)).Append("</td>");
            }

            o.Append("</tr>");
        }

        o.Append("</tbody></table>\n");
    }

    private const string Style = """
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1200px;padding:0 16px;color:#111827;background:#fff}
        h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #e5e7eb;padding-bottom:4px}
        h3{font-size:15px;margin:16px 0 6px}.lead{color:#374151}.note{color:#6b7280;margin:4px 0 8px}
        nav{margin:8px 0 4px;font-size:13px}a{color:#2563eb;text-decoration:none}
        .wide{overflow-x:auto;max-width:100%}
        table{border-collapse:collapse;margin:6px 0 12px;font-size:13px}th,td{border-bottom:1px solid #e5e7eb;padding:3px 10px 3px 0;text-align:left;vertical-align:top}
        th{font-weight:600;color:#374151}td.n{text-align:right;font-variant-numeric:tabular-nums}td:first-child{white-space:nowrap}
        .ok{color:#15803d;font-weight:600}.fail{color:#b91c1c;font-weight:600}
        svg.chart{display:block;margin:6px 0 14px;max-width:100%;height:auto;background:#fff}
        svg .t{font-size:13px;font-weight:600;fill:#111827}svg .l,svg .x,svg .y{font-size:11px;fill:#374151}
        svg .a{stroke:#6b7280;stroke-width:1}svg .g{stroke:#e5e7eb;stroke-width:1}
        .grid{display:flex;flex-wrap:wrap;gap:8px 24px}details{margin:4px 0 10px}summary{cursor:pointer;color:#374151}
        #render-status{color:#9ca3af;font-size:11px;margin-top:24px}
        """;

    private const string Script = """
        (function () {
          var status = document.getElementById('render-status');
          try {
            var charts = document.querySelectorAll('svg.chart');
            var empty = [];
            for (var i = 0; i < charts.length; i++) {
              var marks = charts[i].querySelectorAll('.series');
              var drawn = 0;
              for (var j = 0; j < marks.length; j++) {
                var box = marks[j].getBBox();
                if (box.width > 0 || box.height > 0) { drawn++; }
              }
              var r = charts[i].getBoundingClientRect();
              if ((marks.length > 0 && drawn === 0) || r.width === 0 || r.height === 0) { empty.push(charts[i].getAttribute('aria-label')); }
            }
            var errors = window.pageErrors || [];
            status.setAttribute('data-charts', String(charts.length));
            status.setAttribute('data-status', errors.length > 0 ? 'error' : empty.length === 0 && charts.length > 0 ? 'ok' : 'failed');
            status.textContent = errors.length > 0 ? 'errors: ' + errors.join('; ')
              : empty.length === 0 ? 'rendered ' + charts.length + ' charts' : 'charts that drew nothing: ' + empty.join('; ');
          } catch (e) {
            status.setAttribute('data-status', 'error');
            status.textContent = 'error: ' + e;
          }
        })();
        """;
}
