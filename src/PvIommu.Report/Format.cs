using System.Globalization;

namespace PvIommu.Report;

/// <summary>Numbers for people, the same in the terminal and the HTML page.</summary>
internal static class Format
{
    public static string Count(long value) => value.ToString("#,0", CultureInfo.InvariantCulture);

    public static string Count(double value) => Math.Abs(value) >= 1000 || value == Math.Floor(value)
        ? value.ToString("#,0", CultureInfo.InvariantCulture)
        : value.ToString("0.##", CultureInfo.InvariantCulture);

    /// <summary>"4 KiB", "1.5 GiB", "512 B".</summary>
    public static string Bytes(long value)
    {
        string[] names = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
        var v = Math.Abs((double)value);
        var i = 0;
        while (v >= 1024 && i < names.Length - 1)
        {
            v /= 1024;
            i++;
        }

        var sign = value < 0 ? "-" : string.Empty;
        return i == 0 ? $"{value} B" : sign + v.ToString(v >= 100 ? "0" : "0.#", CultureInfo.InvariantCulture) + " " + names[i];
    }

    /// <summary>"850 ns", "12.3 µs", "4.56 ms", "1.2 s".</summary>
    public static string Time(double ns)
    {
        var (value, unit) = ns switch
        {
            < 1e3 => (ns, "ns"),
            < 1e6 => (ns / 1e3, "µs"),
            < 1e9 => (ns / 1e6, "ms"),
            _ => (ns / 1e9, "s"),
        };
        return value.ToString(value >= 100 ? "0" : value >= 10 ? "0.#" : "0.##", CultureInfo.InvariantCulture) + " " + unit;
    }

    public static string Hex(ulong value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    public static string Change(double from, double to) =>
        from == to ? "=" : from == 0 ? "new" : ((to - from) / from).ToString("+0.#%;-0.#%", CultureInfo.InvariantCulture);
}
