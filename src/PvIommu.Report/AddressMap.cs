using System.Text;
using PvIommu.Simulation.Results;

namespace PvIommu.Report;

/// <summary>
/// A context's address space as a strip: each mapped range is a block (its width grows with the
/// logarithm of its size, so a 4 KiB page and 2 GiB of RAM both show), the unmapped gaps between
/// them are short hatched spacers labelled with their size.
/// </summary>
internal static class AddressMap
{
    private const int MaxBlocks = 48;

    public static string Render(ContextResult context)
    {
        var ranges = context.Ranges.Take(MaxBlocks).ToList();
        var labels = context.Ranges.Select(r => r.Label).Distinct().ToList();
        const int H = 104, Top = 30, Bar = 28;
        var x = 8.0;
        var blocks = new StringBuilder();
        var nextLabel = 0.0;
        ulong cursor = 0;
        foreach (var r in ranges)
        {
            if (r.StartDfn > cursor)
            {
                blocks.Append($"<rect x=\"{Svg.N(x)}\" y=\"{Top}\" width=\"14\" height=\"{Bar}\" fill=\"url(#gap)\" class=\"gap\"><title>unmapped: {Svg.E(Format.Bytes((long)Math.Min((r.StartDfn - cursor) << 12, long.MaxValue)))}</title></rect>");
                x += 16;
            }

            var width = 10 + (6 * Math.Log2(r.Frames + 1));
            var color = Svg.Palette[labels.IndexOf(r.Label) % Svg.Palette.Length];
            blocks.Append($"<rect class=\"series\" x=\"{Svg.N(x)}\" y=\"{Top}\" width=\"{Svg.N(width)}\" height=\"{Bar}\" fill=\"{color}\"><title>{Svg.E(r.Label)}: {Format.Hex(r.StartDfn << 12)} + {Svg.E(Format.Bytes((long)(r.Frames << 12)))}</title></rect>");
            if (x >= nextLabel)
            {
                var text = Format.Hex(r.StartDfn << 12);
                blocks.Append($"<text x=\"{Svg.N(x)}\" y=\"{Top + Bar + 11}\" class=\"x\">{text}</text>");
                nextLabel = x + (text.Length * 6) + 8;
            }

            x += width + 2;
            cursor = r.StartDfn + r.Frames;
        }

        var top = context.AddressBits >= 64 ? ulong.MaxValue : (1UL << (context.AddressBits - 12)) - 1;
        if (cursor <= top)
        {
            blocks.Append($"<rect x=\"{Svg.N(x)}\" y=\"{Top}\" width=\"14\" height=\"{Bar}\" fill=\"url(#gap)\" class=\"gap\"><title>unmapped up to the top of the {context.AddressBits}-bit space</title></rect>");
            x += 16;
        }

        var width1 = Math.Max(640, Math.Max(x, nextLabel) + 8);
        var o = new StringBuilder();
        var title = $"{context.Domain} context {context.Number} ({context.Kind}): {Format.Bytes(context.MappedFrames * 4096)} mapped, {context.TablePages} table pages";
        o.Append($"<svg class=\"chart map\" role=\"img\" aria-label=\"{Svg.E(title)}\" viewBox=\"0 0 {Svg.N(width1)} {H}\" width=\"{Svg.N(width1)}\" height=\"{H}\">");
        o.Append("<defs><pattern id=\"gap\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#f3f4f6\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#cbd5e1\" stroke-width=\"2\"/></pattern></defs>");
        o.Append($"<title>{Svg.E(title)}</title><text x=\"8\" y=\"18\" class=\"t\">{Svg.E(title)}</text>");
        o.Append(blocks);
        var lx = 8.0;
        for (var i = 0; i < labels.Count; i++)
        {
            o.Append($"<rect x=\"{Svg.N(lx)}\" y=\"{Top + Bar + 22}\" width=\"10\" height=\"10\" fill=\"{Svg.Palette[i % Svg.Palette.Length]}\"/><text x=\"{Svg.N(lx + 14)}\" y=\"{Top + Bar + 31}\" class=\"l\">{Svg.E(labels[i])}</text>");
            lx += 24 + (labels[i].Length * 6.2);
        }

        if (context.Ranges.Count > MaxBlocks)
        {
            o.Append($"<text x=\"{Svg.N(lx)}\" y=\"{Top + Bar + 31}\" class=\"l\">… {context.Ranges.Count - MaxBlocks} more ranges (table below)</text>");
        }

        if (context.Ranges.Count == 0)
        {
            o.Append($"<text x=\"40\" y=\"{Top + 18}\" class=\"l\">nothing mapped</text>");
        }

        return o.Append("</svg>").ToString();
    }
}
