using System.Globalization;
using PvIommu.Platform.Pci;

namespace PvIommu.Simulation.Scenarios;

/// <summary>
/// Reads the keys of one table with typed getters that fail with the file, the line and what was
/// expected; at the end, <see cref="Done"/> rejects keys nobody asked for (a typo must not be
/// silently ignored).
/// </summary>
internal sealed class TableReader(string file, TomlTableNode table, string where)
{
    private readonly HashSet<string> _known = [];

    public TomlTableNode Table { get; } = table;

    public string Where { get; } = where;

    public string File { get; } = file;

    public ScenarioBindException Fail(TomlNode at, string message) =>
        new(at.Line == 0
            ? new ScenarioError(File, 0, 0, message + " (a value set on the command line with --set, --seed or --compare)")
            : new ScenarioError(File, at.Line, at.Column, message));

    public ScenarioBindException Fail(string message) => Fail(Table, message);

    public TomlNode? Raw(string key)
    {
        _known.Add(key);
        return Table.Find(key);
    }

    public TomlNode Required(string key, string expected) =>
        Raw(key) ?? throw Fail($"{Where}: missing '{key}' ({expected})");

    public void Done()
    {
        foreach (var (key, node) in Table.Entries)
        {
            if (!_known.Contains(key))
            {
                throw Fail(node, $"{Where}: unknown key '{key}'; expected one of: {string.Join(", ", _known.Order(StringComparer.Ordinal))}");
            }
        }
    }

    public string String(string key, string fallback) => Raw(key) is { } n ? AsString(n, key, "a string") : fallback;

    public string RequiredString(string key, string expected) => AsString(Required(key, expected), key, expected);

    public bool Bool(string key, bool fallback) => Raw(key) switch
    {
        null => fallback,
        TomlValueNode { Value: bool b } => b,
        var n => throw Fail(n, $"{Where}: '{key}' must be true or false, not {n.Describe()}"),
    };

    public long Integer(string key, long fallback, long min, long max) => Raw(key) switch
    {
        null => fallback,
        TomlValueNode { Value: long l } n => l >= min && l <= max ? l
            : throw Fail(n, $"{Where}: '{key}' must be from {min} to {max}, not {l}"),
        var n => throw Fail(n, $"{Where}: '{key}' must be an integer from {min} to {max}, not {n.Describe()}"),
    };

    public double Number(string key, double fallback, double min, double max)
    {
        var node = Raw(key);
        if (node is null)
        {
            return fallback;
        }

        var value = node is TomlValueNode { Value: long l } ? l : node is TomlValueNode { Value: double d } ? d : double.NaN;
        return value >= min && value <= max ? value
            : throw Fail(node, $"{Where}: '{key}' must be a number from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}, not {node.Describe()}");
    }

    /// <summary>A share from 0 to 1, written 0.8 or "80%".</summary>
    public double Fraction(string key, double fallback) => Raw(key) switch
    {
        null => fallback,
        var n => Units.TryFraction(n, out var f) ? f
            : throw Fail(n, $"{Where}: '{key}' must be a share from 0 to 1 (such as 0.8 or \"80%\"), not {n.Describe()}"),
    };

    public ulong Size(string key, ulong fallback, ulong min = 1, ulong max = ulong.MaxValue)
    {
        var node = Raw(key);
        if (node is null)
        {
            return fallback;
        }

        if (!Units.TrySize(node, out var bytes))
        {
            throw Fail(node, $"{Where}: '{key}' must be a size such as \"4KiB\", \"2MiB\" or a number of bytes, not {node.Describe()}");
        }

        return bytes >= min && bytes <= max ? bytes
            : throw Fail(node, $"{Where}: '{key}' must be from {Units.FormatSize(min)} to {Units.FormatSize(max)}, not {Units.FormatSize(bytes)}");
    }

    public long Duration(string key, long fallbackNs, long minNs = 1, long maxNs = long.MaxValue)
    {
        var node = Raw(key);
        if (node is null)
        {
            return fallbackNs;
        }

        if (!Units.TryDuration(node, out var ns))
        {
            throw Fail(node, $"{Where}: '{key}' must be a duration such as \"50ms\", \"0.5us\" or \"70ns\", not {node.Describe()}");
        }

        return ns >= minNs && ns <= maxNs ? (long)ns
            : throw Fail(node, $"{Where}: '{key}' must be from {Units.FormatDuration(minNs)} to {Units.FormatDuration(maxNs)}");
    }

    public double DurationNs(string key, double fallbackNs)
    {
        var node = Raw(key);
        if (node is null)
        {
            return fallbackNs;
        }

        return Units.TryDuration(node, out var ns) && ns >= 0 ? ns
            : throw Fail(node, $"{Where}: '{key}' must be a duration such as \"0.5us\" or \"70ns\" (a bare number is nanoseconds), not {node.Describe()}");
    }

    public double BitRate(string key, double fallback)
    {
        var node = Raw(key);
        if (node is null)
        {
            return fallback;
        }

        return Units.TryBitRate(node, out var bps) && bps > 0 ? bps
            : throw Fail(node, $"{Where}: '{key}' must be a line rate such as \"10Gbps\" or \"100Gbit/s\", not {node.Describe()}");
    }

    public double ByteRate(string key, double fallback)
    {
        var node = Raw(key);
        if (node is null)
        {
            return fallback;
        }

        return Units.TryByteRate(node, out var bytes) && bytes > 0 ? bytes
            : throw Fail(node, $"{Where}: '{key}' must be a bandwidth such as \"16GB/s\" or \"4GiB/s\", not {node.Describe()}");
    }

    public Sbdf Device(string key) => AsDevice(Required(key, "a PCI address such as \"00:02.0\""), key);

    public Sbdf AsDevice(TomlNode node, string key) =>
        node is TomlValueNode { Value: string s } && Sbdf.TryParse(s.Trim(), out var sbdf) ? sbdf
            : throw Fail(node, $"{Where}: '{key}' must be a PCI address such as \"00:02.0\" or \"0000:00:02.0\", not {node.Describe()}");

    public IReadOnlyList<Sbdf> Devices(string key)
    {
        switch (Raw(key))
        {
            case null:
                return [];
            case TomlArrayNode { OfTables: false } a:
                return [.. a.Items.Select(i => AsDevice(i, key))];
            case var n:
                throw Fail(n, $"{Where}: '{key}' must be a list of PCI addresses such as ['00:02.0'], not {n.Describe()}");
        }
    }

    public T Choice<T>(string key, T fallback, params (string Name, T Value)[] choices)
    {
        var node = Raw(key);
        if (node is null)
        {
            return fallback;
        }

        if (node is TomlValueNode { Value: string s })
        {
            foreach (var (name, value) in choices)
            {
                if (string.Equals(name, s.Trim(), StringComparison.OrdinalIgnoreCase))
                {
                    return value;
                }
            }
        }

        throw Fail(node, $"{Where}: '{key}' must be one of {string.Join(", ", choices.Select(c => $"\"{c.Name}\""))}, not {node.Describe()}");
    }

    /// <summary>The tables of <c>[[key]]</c> (or a single <c>[key]</c> table), each with its reader.</summary>
    public IEnumerable<TableReader> Tables(string key, string name)
    {
        switch (Raw(key))
        {
            case null:
                yield break;
            case TomlTableNode t:
                yield return new TableReader(File, t, $"[{name}]");
                break;
            case TomlArrayNode a when a.Items.All(i => i is TomlTableNode):
                foreach (var item in a.Items)
                {
                    yield return new TableReader(File, (TomlTableNode)item, $"[[{name}]] at line {item.Line}");
                }

                break;
            case var n:
                throw Fail(n, $"'{key}' must be a table ([[{name}]] sections), not {n.Describe()}");
        }
    }

    public TableReader? SubTable(string key, string name) => Raw(key) switch
    {
        null => null,
        TomlTableNode t => new TableReader(File, t, $"[{name}]"),
        var n => throw Fail(n, $"'{key}' must be a table ([{name}]), not {n.Describe()}"),
    };

    private string AsString(TomlNode node, string key, string expected) =>
        node is TomlValueNode { Value: string s } ? s : throw Fail(node, $"{Where}: '{key}' must be {expected}, not {node.Describe()}");
}
