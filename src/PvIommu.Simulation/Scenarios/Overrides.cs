using System.Globalization;

namespace PvIommu.Simulation.Scenarios;

/// <summary>
/// <c>key.path=value</c> assignments applied to a scenario's tree before it is bound, so that
/// --compare can vary any key and the binder checks the new value like any other. A path step
/// into an array of tables takes an index (<c>workload.0.recycle</c>) or, without one, sets
/// the key in every table of the array.
/// </summary>
internal static class Overrides
{
    public static void Apply(TomlTableNode root, string assignment, string file)
    {
        var equals = assignment.IndexOf('=', StringComparison.Ordinal);
        if (equals <= 0)
        {
            throw Fail(file, $"override '{assignment}': expected KEY=VALUE, such as driver.policy=deferred");
        }

        var path = assignment[..equals].Trim().Split('.', StringSplitOptions.TrimEntries);
        if (path.Any(p => p.Length == 0))
        {
            throw Fail(file, $"override '{assignment}': the key has an empty part");
        }

        var value = ParseValue(assignment[(equals + 1)..].Trim());
        Set([root], path, value, assignment, file);
    }

    private static void Set(List<TomlTableNode> tables, string[] path, TomlNode value, string assignment, string file)
    {
        for (var i = 0; i < path.Length - 1; i++)
        {
            var next = new List<TomlTableNode>();
            foreach (var table in tables)
            {
                switch (table.Find(path[i]))
                {
                    case null:
                        var made = new TomlTableNode(0, 0) { Implicit = true };
                        table.Add(path[i], made);
                        next.Add(made);
                        break;
                    case TomlTableNode t:
                        next.Add(t);
                        break;
                    case TomlArrayNode { OfTables: true } a:
                        if (i + 1 < path.Length - 1 && int.TryParse(path[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var index))
                        {
                            if (index >= a.Items.Count)
                            {
                                throw Fail(file, $"override '{assignment}': there are only {a.Items.Count} [[{path[i]}]] sections");
                            }

                            next.Add((TomlTableNode)a.Items[index]);
                            i++;
                        }
                        else
                        {
                            next.AddRange(a.Items.Cast<TomlTableNode>());
                        }

                        break;
                    default:
                        throw Fail(file, $"override '{assignment}': '{path[i]}' is a value, not a section");
                }
            }

            tables = next;
        }

        foreach (var table in tables)
        {
            var at = table.Entries.FindIndex(e => e.Key == path[^1]);
            if (at >= 0)
            {
                table.Entries[at] = new(path[^1], value);
            }
            else
            {
                table.Add(path[^1], value);
            }
        }
    }

    private static TomlValueNode ParseValue(string text)
    {
        object value = text switch
        {
            "true" => true,
            "false" => false,
            _ when long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l) => l,
            _ when text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
                && long.TryParse(text[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var h) => h,
            _ when double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
            _ => text.Trim('"', '\''),
        };
        return new TomlValueNode(0, 0, value);
    }

    private static ScenarioBindException Fail(string file, string message) => new(new ScenarioError(file, 0, 0, message));
}
