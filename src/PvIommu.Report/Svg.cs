using System.Globalization;
using System.Net;
using System.Text;

namespace PvIommu.Report;

/// <summary>Inline SVG charts: no script, no network, no fonts beyond the page's.</summary>
internal static class Svg
{
    public static readonly string[] Palette = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563"];

    public static string N(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);

    public static string E(string text) => WebUtility.HtmlEncode(text);

    /// <summary>A line chart of one or more series over the same x values.</summary>
    public static string Lines(string title, string yLabel, IReadOnlyList<double> xs, IReadOnlyList<(string Name, IReadOnlyList<double> Ys)> series, Func<double, string> xFormat, Func<double, string> yFormat)
    {
        const int W = 580, H = 220, L = 64, R = 28, T = 40, B = 36;
        var o = new StringBuilder();
        o.Append($"<svg class=\"chart\" role=\"img\" aria-label=\"{E(title)}\" viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\">");
        o.Append($"<title>{E(title)}</title><text x=\"{L}\" y=\"16\" class=\"t\">{E(title)}</text>");
        var maxX = xs.Count == 0 ? 1 : Math.Max(1e-9, xs.Max());
        var maxY = Nice(series.SelectMany(s => s.Ys).DefaultIfEmpty(0).Max());
        Axes(o, L, T, W - R, H - B, maxX, maxY, xFormat, yFormat, yLabel);
        for (var s = 0; s < series.Count; s++)
        {
            var (name, ys) = series[s];
            var points = string.Join(" ", xs.Select((x, i) => $"{N(L + ((W - L - R) * x / maxX))},{N(H - B - ((H - B - T) * ys[i] / maxY))}"));
            var color = Palette[s % Palette.Length];
            o.Append($"<polyline class=\"series\" fill=\"none\" stroke=\"{color}\" stroke-width=\"1.8\" points=\"{points}\"><title>{E(name)}</title></polyline>");
            Legend(o, L + (s * 170), T - 12, color, name);
        }

        return o.Append("</svg>").ToString();
    }

    /// <summary>A bar chart (a histogram): labels under the bars.</summary>
    public static string Bars(string title, IReadOnlyList<string> labels, IReadOnlyList<(string Name, IReadOnlyList<double> Values)> series, Func<double, string> yFormat)
    {
        const int W = 580, H = 220, L = 64, R = 28, T = 40, B = 48;
        var o = new StringBuilder();
        o.Append($"<svg class=\"chart\" role=\"img\" aria-label=\"{E(title)}\" viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\">");
        o.Append($"<title>{E(title)}</title><text x=\"{L}\" y=\"16\" class=\"t\">{E(title)}</text>");
        var maxY = Nice(series.SelectMany(s => s.Values).DefaultIfEmpty(0).Max());
        Axes(o, L, T, W - R, H - B, 0, maxY, null, yFormat, string.Empty);
        var slot = (double)(W - L - R) / Math.Max(1, labels.Count);
        var bar = slot * 0.8 / Math.Max(1, series.Count);
        for (var i = 0; i < labels.Count; i++)
        {
            for (var s = 0; s < series.Count; s++)
            {
                var v = series[s].Values[i];
                var h = (H - B - T) * v / maxY;
                var x = L + (slot * i) + (slot * 0.1) + (bar * s);
                o.Append($"<rect class=\"series\" x=\"{N(x)}\" y=\"{N(H - B - h)}\" width=\"{N(Math.Max(1, bar - 1))}\" height=\"{N(Math.Max(h, v > 0 ? 1 : 0))}\" fill=\"{Palette[s % Palette.Length]}\"><title>{E(series[s].Name)} {E(labels[i])}: {E(yFormat(v))}</title></rect>");
            }

            if (labels.Count <= 16 || i % Math.Max(1, labels.Count / 12) == 0)
            {
                o.Append($"<text x=\"{N(L + (slot * (i + 0.5)))}\" y=\"{H - B + 14}\" class=\"x\" text-anchor=\"middle\">{E(labels[i])}</text>");
            }
        }

        for (var s = 0; s < series.Count && series.Count > 1; s++)
        {
            Legend(o, L + (s * 170), T - 12, Palette[s % Palette.Length], series[s].Name);
        }

        return o.Append("</svg>").ToString();
    }

    /// <summary>Horizontal grouped bars: one row per label, one bar per series, values from 0 to 1 of the row's largest.</summary>
    public static string HBars(string title, IReadOnlyList<string> labels, IReadOnlyList<(string Name, IReadOnlyList<double> Values)> series, Func<double, string> format)
    {
        const int W = 900, L = 260, R = 90, T = 40, Row = 12;
        var group = (series.Count * Row) + 10;
        var h = T + (labels.Count * group) + 10;
        var o = new StringBuilder();
        o.Append($"<svg class=\"chart\" role=\"img\" aria-label=\"{E(title)}\" viewBox=\"0 0 {W} {h}\" width=\"{W}\" height=\"{h}\">");
        o.Append($"<title>{E(title)}</title><text x=\"8\" y=\"16\" class=\"t\">{E(title)}</text>");
        for (var s = 0; s < series.Count; s++)
        {
            Legend(o, L + (s * 200), T - 12, Palette[s % Palette.Length], series[s].Name);
        }

        for (var i = 0; i < labels.Count; i++)
        {
            var y = T + (i * group);
            o.Append($"<text x=\"{L - 8}\" y=\"{y + (group / 2)}\" class=\"l\" text-anchor=\"end\">{E(labels[i])}</text>");
            var max = series.Max(x => x.Values[i]);
            for (var s = 0; s < series.Count; s++)
            {
                var v = series[s].Values[i];
                var w = max <= 0 ? 0 : (W - L - R) * v / max;
                o.Append($"<rect class=\"series\" x=\"{L}\" y=\"{y + (s * Row)}\" width=\"{N(Math.Max(w, 1))}\" height=\"{Row - 2}\" fill=\"{Palette[s % Palette.Length]}\"><title>{E(series[s].Name)}: {E(format(v))}</title></rect>");
                o.Append($"<text x=\"{N(L + Math.Max(w, 1) + 4)}\" y=\"{y + (s * Row) + Row - 3}\" class=\"x\">{E(format(v))}</text>");
            }
        }

        return o.Append("</svg>").ToString();
    }

    /// <summary>A round top for an axis, at least 1, with a little headroom.</summary>
    private static double Nice(double max)
    {
        if (max <= 0)
        {
            return 1;
        }

        var step = Math.Pow(10, Math.Floor(Math.Log10(max * 1.05)));
        foreach (var m in (double[])[1, 2, 4, 8, 10])
        {
            if (m * step >= max * 1.05)
            {
                return m * step;
            }
        }

        return 10 * step;
    }

    private static void Legend(StringBuilder o, double x, double y, string color, string name) =>
        o.Append($"<rect x=\"{N(x)}\" y=\"{N(y - 9)}\" width=\"10\" height=\"10\" fill=\"{color}\"/><text x=\"{N(x + 14)}\" y=\"{N(y)}\" class=\"l\">{E(name)}</text>");

    private static void Axes(StringBuilder o, int left, int top, int right, int bottom, double maxX, double maxY, Func<double, string>? xFormat, Func<double, string> yFormat, string yLabel)
    {
        o.Append($"<line x1=\"{left}\" y1=\"{bottom}\" x2=\"{right}\" y2=\"{bottom}\" class=\"a\"/><line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{bottom}\" class=\"a\"/>");
        for (var i = 0; i <= 4; i++)
        {
            var y = bottom - ((bottom - top) * i / 4.0);
            o.Append($"<line x1=\"{left}\" y1=\"{N(y)}\" x2=\"{right}\" y2=\"{N(y)}\" class=\"g\"/><text x=\"{left - 4}\" y=\"{N(y + 4)}\" class=\"y\" text-anchor=\"end\">{E(yFormat(maxY * i / 4))}</text>");
            if (xFormat is not null)
            {
                var x = left + ((right - left) * i / 4.0);
                o.Append($"<text x=\"{N(x)}\" y=\"{bottom + 14}\" class=\"x\" text-anchor=\"middle\">{E(xFormat(maxX * i / 4))}</text>");
            }
        }

        if (yLabel.Length > 0)
        {
            o.Append($"<text x=\"12\" y=\"{(top + bottom) / 2}\" class=\"y\" transform=\"rotate(-90 12 {(top + bottom) / 2})\" text-anchor=\"middle\">{E(yLabel)}</text>");
        }
    }
}
