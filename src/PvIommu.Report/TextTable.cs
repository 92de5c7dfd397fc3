using System.Text;

namespace PvIommu.Report;

/// <summary>A plain-text table: a header, rows, columns padded; numbers right-aligned.</summary>
internal sealed class TextTable(params string[] headers)
{
    private readonly List<string[]> _rows = [];

    public void Add(params string[] cells) => _rows.Add(cells);

    public void Write(StringBuilder output, string indent = "  ")
    {
        var widths = headers.Select((h, i) => Math.Max(h.Length, _rows.Count == 0 ? 0 : _rows.Max(r => r[i].Length))).ToArray();
        var numeric = headers.Select((_, i) => i > 0 && _rows.Count > 0 && _rows.All(r => IsNumber(r[i]))).ToArray();
        Line(output, indent, headers, widths, numeric);
        output.Append(indent).AppendJoin("  ", widths.Select(w => new string('-', w))).Append('\n');
        foreach (var row in _rows)
        {
            Line(output, indent, row, widths, numeric);
        }
    }

    private static void Line(StringBuilder output, string indent, string[] cells, int[] widths, bool[] numeric)
    {
        output.Append(indent);
        for (var i = 0; i < cells.Length; i++)
        {
            output.Append(numeric[i] ? cells[i].PadLeft(widths[i]) : cells[i].PadRight(widths[i]));
            if (i < cells.Length - 1)
            {
                output.Append("  ");
            }
        }

        output.Append('\n');
        var end = output.Length;
        while (end > 0 && output[end - 2] == ' ')
        {
            output.Remove(end - 2, 1);
            end--;
        }
    }

    private static bool IsNumber(string cell) => cell.Length > 0 && (char.IsDigit(cell[0]) || cell[0] == '-') && cell.Any(char.IsDigit);
}
