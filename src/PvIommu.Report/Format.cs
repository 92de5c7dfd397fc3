using System.Globalization;
using PvIommu.Simulation.Scenarios;

namespace PvIommu.Report;

/// <summary>Numbers for people, the same in the terminal and the HTML page.</summary>
internal static class Format
{
    public static string Count(long value) => value.ToString("#,0", CultureInfo.InvariantCulture);

    public static string Count(double value) => Math.Abs(value) >= 1000 || value == Math.Floor(value)
        ? value.ToString("#,0", CultureInfo.InvariantCulture)
        : value.ToString("0.##", CultureInfo.InvariantCulture);

    /// <summary>"4 KiB", "1.5 GiB", "512 B": the scenario format's sizes (<see cref="Units.FormatSize"/>), with a sign.</summary>
    public static string Bytes(long value) =>
        value < 0 ? "-" + Units.FormatSize(0UL - (ulong)value) : Units.FormatSize((ulong)value);

    /// <summary>"850 ns", "12.3 µs", "4.56 ms", "1.2 s": the scenario format's durations.</summary>
    public static string Time(double ns) => Units.FormatDuration(ns);

    public static string Hex(ulong value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    public static string Change(double from, double to) =>
        from == to ? "=" : from == 0 ? "new" : ((to - from) / from).ToString("+0.#%;-0.#%", CultureInfo.InvariantCulture);
}
