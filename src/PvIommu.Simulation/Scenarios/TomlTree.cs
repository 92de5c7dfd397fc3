using System.Globalization;
using Tomlyn.Parsing;
using Tomlyn.Syntax;

namespace PvIommu.Simulation.Scenarios;

/// <summary>
/// A TOML document as a tree that remembers where each value was written, so that the binder
/// can say "line 12: expected a size such as 4KiB". Built from Tomlyn's syntax tree (which keeps
/// positions) rather than its object model (which does not).
/// </summary>
internal abstract class TomlNode(int line, int column)
{
    public int Line { get; } = line;

    public int Column { get; } = column;

    public abstract string Describe();
}

/// <summary>A table: keys in the order written.</summary>
internal sealed class TomlTableNode(int line, int column) : TomlNode(line, column)
{
    public List<KeyValuePair<string, TomlNode>> Entries { get; } = [];

    /// <summary>Whether it was made implicitly by a dotted key or header (it may still be opened once with [header]).</summary>
    public bool Implicit { get; set; }

    public TomlNode? Find(string key) => Entries.FirstOrDefault(e => e.Key == key).Value;

    public void Add(string key, TomlNode value) => Entries.Add(new(key, value));

    public override string Describe() => "a table";
}

/// <summary>An array (of values or, for [[name]], of tables).</summary>
internal sealed class TomlArrayNode(int line, int column, bool ofTables) : TomlNode(line, column)
{
    public List<TomlNode> Items { get; } = [];

    public bool OfTables { get; } = ofTables;

    public override string Describe() => OfTables ? "an array of tables" : "an array";
}

/// <summary>A scalar: string, integer, float, boolean or date.</summary>
internal sealed class TomlValueNode(int line, int column, object value) : TomlNode(line, column)
{
    public object Value { get; } = value;

    public override string Describe() => Value switch
    {
        string s => $"the string \"{s}\"",
        long l => $"the integer {l.ToString(CultureInfo.InvariantCulture)}",
        double d => $"the number {d.ToString(CultureInfo.InvariantCulture)}",
        bool b => b ? "true" : "false",
        _ => "a date",
    };
}

/// <summary>Reads TOML text into a <see cref="TomlTableNode"/>, or the first syntax error with its position.</summary>
internal static class TomlTree
{
    public static TomlTableNode Parse(string text, string file)
    {
        var document = SyntaxParser.Parse(text, file, true);
        var first = document.Diagnostics.FirstOrDefault(d => d.Kind == DiagnosticMessageKind.Error);
        if (first is not null)
        {
            // The parser notices an unterminated string where the next quote is, lines later;
            // point at the line that opened it instead.
            if (UnterminatedString(text) is { } line && line <= first.Span.Start.Line)
            {
                throw new ScenarioBindException(new ScenarioError(file, line + 1, 0, "not valid TOML: a string is not closed on this line (expected a closing quote)"));
            }

            throw Error(file, first.Span.Start, "not valid TOML: " + first.Message);
        }

        var root = new TomlTableNode(1, 1);
        foreach (var kv in document.KeyValues)
        {
            AddKeyValue(root, kv, file);
        }

        foreach (var table in document.Tables)
        {
            var path = KeyParts(table.Name!);
            var at = table.Span.Start;
            TomlTableNode target;
            if (table is TableArraySyntax)
            {
                var parent = Descend(root, path[..^1], file, at);
                var existing = parent.Find(path[^1]);
                if (existing is null)
                {
                    existing = new TomlArrayNode(at.Line + 1, at.Column + 1, ofTables: true);
                    parent.Add(path[^1], existing);
                }

                if (existing is not TomlArrayNode { OfTables: true } array)
                {
                    throw Error(file, at, $"[[{string.Join('.', path)}]] names a key that already holds {existing.Describe()}");
                }

                target = new TomlTableNode(at.Line + 1, at.Column + 1);
                array.Items.Add(target);
            }
            else
            {
                target = Descend(root, path, file, at);
            }

            foreach (var item in table.Items)
            {
                if (item is KeyValueSyntax kv)
                {
                    AddKeyValue(target, kv, file);
                }
            }
        }

        return root;
    }

    /// <summary>The 0-based line of the first single-line string without its closing quote, if any.</summary>
    private static int? UnterminatedString(string text)
    {
        var lines = text.Split('\n');
        string? multiline = null;
        for (var n = 0; n < lines.Length; n++)
        {
            var line = lines[n];
            var i = 0;
            while (i < line.Length)
            {
                if (multiline is not null)
                {
                    var end = line.IndexOf(multiline, i, StringComparison.Ordinal);
                    if (end < 0)
                    {
                        break;
                    }

                    i = end + 3;
                    multiline = null;
                    continue;
                }

                var c = line[i];
                if (c == '#')
                {
                    break;
                }

                if (c is '"' or '\'')
                {
                    var triple = new string(c, 3);
                    if (string.CompareOrdinal(line, i, triple, 0, 3) == 0)
                    {
                        multiline = triple;
                        i += 3;
                        continue;
                    }

                    var j = i + 1;
                    while (j < line.Length && line[j] != c)
                    {
                        j += c == '"' && line[j] == '\\' ? 2 : 1;
                    }

                    if (j >= line.Length)
                    {
                        return n;
                    }

                    i = j + 1;
                    continue;
                }

                i++;
            }
        }

        return null;
    }

    private static void AddKeyValue(TomlTableNode table, KeyValueSyntax kv, string file)
    {
        var path = KeyParts(kv.Key!);
        var at = kv.Span.Start;
        var parent = Descend(table, path[..^1], file, at);
        if (parent.Find(path[^1]) is not null)
        {
            throw Error(file, at, $"the key '{path[^1]}' is set twice");
        }

        parent.Add(path[^1], Convert(kv.Value!, file));
    }

    /// <summary>Walks (and makes) the tables of a dotted path; inside an array of tables, the last one.</summary>
    private static TomlTableNode Descend(TomlTableNode table, string[] path, string file, TextPosition at)
    {
        var current = table;
        foreach (var part in path)
        {
            switch (current.Find(part))
            {
                case null:
                    var made = new TomlTableNode(at.Line + 1, at.Column + 1) { Implicit = true };
                    current.Add(part, made);
                    current = made;
                    break;
                case TomlTableNode t:
                    current = t;
                    break;
                case TomlArrayNode { OfTables: true } a when a.Items.Count > 0:
                    current = (TomlTableNode)a.Items[^1];
                    break;
                case var other:
                    throw Error(file, at, $"'{part}' already holds {other.Describe()}, not a table");
            }
        }

        return current;
    }

    private static TomlNode Convert(ValueSyntax value, string file)
    {
        var at = value.Span.Start;
        int line = at.Line + 1, column = at.Column + 1;
        switch (value)
        {
            case StringValueSyntax s:
                return new TomlValueNode(line, column, s.Value ?? string.Empty);
            case IntegerValueSyntax i:
                return new TomlValueNode(line, column, i.Value);
            case FloatValueSyntax f:
                return new TomlValueNode(line, column, f.Value);
            case BooleanValueSyntax b:
                return new TomlValueNode(line, column, b.Value);
            case ArraySyntax a:
                var array = new TomlArrayNode(line, column, ofTables: false);
                foreach (var item in a.Items)
                {
                    array.Items.Add(Convert(item.Value!, file));
                }

                return array;
            case InlineTableSyntax t:
                var table = new TomlTableNode(line, column);
                foreach (var item in t.Items)
                {
                    AddKeyValue(table, item.KeyValue!, file);
                }

                return table;
            case DateTimeValueSyntax d:
                return new TomlValueNode(line, column, d.Value);
            default:
                throw Error(file, at, "a value of a kind this format does not use");
        }
    }

    private static string[] KeyParts(KeySyntax key)
    {
        var parts = new List<string> { KeyText(key.Key!) };
        foreach (var dotted in key.DotKeys)
        {
            parts.Add(KeyText(dotted.Key!));
        }

        return [.. parts];
    }

    private static string KeyText(BareKeyOrStringValueSyntax key) => key switch
    {
        BareKeySyntax bare => bare.Key!.Text!,
        StringValueSyntax s => s.Value ?? string.Empty,
        _ => key.ToString() ?? string.Empty,
    };

    private static ScenarioBindException Error(string file, TextPosition at, string message) =>
        new(new ScenarioError(file, at.Line + 1, at.Column + 1, message));
}
