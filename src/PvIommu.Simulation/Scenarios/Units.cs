using System.Globalization;

namespace PvIommu.Simulation.Scenarios;

/// <summary>
/// Sizes, durations and rates as people write them: "4KiB", "2 MiB", "50ms", "0.5us",
/// "10Gbps", "16GB/s". Binary prefixes (KiB, MiB, GiB, TiB) for sizes; decimal prefixes (k, M,
/// G, T) for rates, as line rates and bus bandwidths are quoted.
/// </summary>
public static class Units
{
    private static readonly (string Suffix, ulong Factor)[] _sizeSuffixes =
    [
        ("TiB", 1UL << 40), ("GiB", 1UL << 30), ("MiB", 1UL << 20), ("KiB", 1UL << 10),
        ("TB", 1_000_000_000_000), ("GB", 1_000_000_000), ("MB", 1_000_000), ("KB", 1000), ("kB", 1000),
        ("T", 1UL << 40), ("G", 1UL << 30), ("M", 1UL << 20), ("K", 1UL << 10), ("B", 1),
    ];

    private static readonly (string Suffix, double Factor)[] _durationSuffixes =
    [
        ("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9),
    ];

    private static readonly (string Prefix, double Factor)[] _ratePrefixes =
    [
        ("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3), ("K", 1e3), (string.Empty, 1),
    ];

    /// <summary>Parses a size: "4KiB", "16 MiB", or a plain number of bytes.</summary>
    public static bool TryParseSize(string text, out ulong bytes)
    {
        bytes = 0;
        text = text.Trim().Replace("_", string.Empty, StringComparison.Ordinal);
        foreach (var (suffix, factor) in _sizeSuffixes)
        {
            if (text.EndsWith(suffix, StringComparison.Ordinal))
            {
                return TryScale(text[..^suffix.Length], factor, out bytes);
            }
        }

        return TryScale(text, 1, out bytes);
    }

    /// <summary>Parses a duration into nanoseconds: "50ms", "0.5us", "70ns", "1s", or a number of ns.</summary>
    public static bool TryParseDuration(string text, out double ns)
    {
        ns = 0;
        text = text.Trim();
        foreach (var (suffix, factor) in _durationSuffixes)
        {
            if (text.EndsWith(suffix, StringComparison.Ordinal)
                && double.TryParse(text[..^suffix.Length].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var v)
                && v >= 0 && double.IsFinite(v))
            {
                ns = v * factor;
                return true;
            }
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out ns) && ns >= 0 && double.IsFinite(ns);
    }

    /// <summary>Parses a line rate in bits per second: "10Gbps", "100 Gbit/s", "1e9".</summary>
    public static bool TryParseBitRate(string text, out double bitsPerSecond) =>
        TryParseRate(text, ["bps", "bit/s", "b/s"], out bitsPerSecond);

    /// <summary>Parses a bandwidth in bytes per second: "16GB/s", "16GBps", "4GiB/s".</summary>
    public static bool TryParseByteRate(string text, out double bytesPerSecond)
    {
        text = text.Trim();
        foreach (var suffix in (string[])["iB/s", "iBps"])
        {
            if (text.EndsWith(suffix, StringComparison.Ordinal) && TryParseSize(text[..^(suffix.Length - 2)], out var perSecond))
            {
                bytesPerSecond = perSecond;
                return true;
            }
        }

        return TryParseRate(text, ["Bps", "B/s"], out bytesPerSecond);
    }

    /// <summary>A size for people: "4 KiB", "1.5 GiB", "512 B".</summary>
    public static string FormatSize(ulong bytes)
    {
        string[] names = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        var value = (double)bytes;
        var i = 0;
        while (value >= 1024 && i < names.Length - 1)
        {
            value /= 1024;
            i++;
        }

        return i == 0 ? $"{bytes} B" : value.ToString(value >= 100 || value == Math.Floor(value) ? "0" : "0.#", CultureInfo.InvariantCulture) + " " + names[i];
    }

    /// <summary>A duration for people: "850 ns", "12.3 µs", "4.56 ms", "1.2 s".</summary>
    public static string FormatDuration(double ns)
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

    internal static bool TrySize(TomlNode node, out ulong bytes)
    {
        bytes = 0;
        return node switch
        {
            TomlValueNode { Value: long l } when l >= 0 => (bytes = (ulong)l) == (ulong)l,
            TomlValueNode { Value: string s } => TryParseSize(s, out bytes),
            _ => false,
        };
    }

    internal static bool TryDuration(TomlNode node, out double ns)
    {
        ns = 0;
        return node switch
        {
            TomlValueNode { Value: long l } when l >= 0 => (ns = l) >= 0,
            TomlValueNode { Value: double d } when d >= 0 && double.IsFinite(d) => (ns = d) >= 0,
            TomlValueNode { Value: string s } => TryParseDuration(s, out ns),
            _ => false,
        };
    }

    internal static bool TryBitRate(TomlNode node, out double rate) => TryRate(node, TryParseBitRate, out rate);

    internal static bool TryByteRate(TomlNode node, out double rate) => TryRate(node, TryParseByteRate, out rate);

    internal static bool TryFraction(TomlNode node, out double fraction)
    {
        fraction = node switch
        {
            TomlValueNode { Value: long l } => l,
            TomlValueNode { Value: double d } => d,
            TomlValueNode { Value: string s } when s.Trim().EndsWith('%')
                && double.TryParse(s.Trim()[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var p) => p / 100,
            _ => double.NaN,
        };
        return fraction is >= 0 and <= 1;
    }

    private delegate bool RateParser(string text, out double rate);

    private static bool TryRate(TomlNode node, RateParser parse, out double rate)
    {
        rate = 0;
        return node switch
        {
            TomlValueNode { Value: long l } when l > 0 => (rate = l) > 0,
            TomlValueNode { Value: double d } when d > 0 && double.IsFinite(d) => (rate = d) > 0,
            TomlValueNode { Value: string s } => parse(s, out rate),
            _ => false,
        };
    }

    private static bool TryParseRate(string text, string[] units, out double rate)
    {
        rate = 0;
        text = text.Trim();
        foreach (var unit in units)
        {
            if (!text.EndsWith(unit, StringComparison.Ordinal))
            {
                continue;
            }

            var number = text[..^unit.Length].TrimEnd();
            foreach (var (prefix, factor) in _ratePrefixes)
            {
                if (number.EndsWith(prefix, StringComparison.Ordinal)
                    && double.TryParse(number[..^prefix.Length].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var v)
                    && v > 0 && double.IsFinite(v))
                {
                    rate = v * factor;
                    return true;
                }
            }
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out rate) && rate > 0 && double.IsFinite(rate);
    }

    private static bool TryScale(string number, ulong factor, out ulong bytes)
    {
        bytes = 0;
        number = number.Trim();
        if (ulong.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var whole))
        {
            bytes = whole * factor;
            return whole == 0 || bytes / whole == factor;
        }

        if (double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var d) && d >= 0 && d * factor < 1.8e19)
        {
            bytes = (ulong)Math.Round(d * factor);
            return true;
        }

        return false;
    }
}
