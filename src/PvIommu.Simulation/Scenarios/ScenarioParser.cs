using System.Reflection;

namespace PvIommu.Simulation.Scenarios;

/// <summary>What parsing a scenario gave: the scenario, or the first problem found.</summary>
/// <param name="Scenario">The scenario, when there was no error.</param>
/// <param name="Error">The problem, when there was one.</param>
public sealed record ScenarioParseResult(Scenario? Scenario, ScenarioError? Error)
{
    /// <summary>Whether the scenario is usable.</summary>
    public bool IsOk => Scenario is not null;
}

/// <summary>
/// Reads scenario files (TOML; docs/decisions/0003). Problems are values: every bad input gives a
/// <see cref="ScenarioError"/> with the file, the line and what was expected, never an exception.
/// </summary>
public static class ScenarioParser
{
    /// <summary>The name the built-in scenario reports as its file.</summary>
    public const string BuiltInName = "<built-in default>";

    /// <summary>The text of the built-in default scenario (also <c>examples/default.toml</c>).</summary>
    public static string DefaultText
    {
        get
        {
            using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("PvIommu.Simulation.default.toml")
                ?? throw new InvalidOperationException("the default scenario is not embedded");
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }
    }

    /// <summary>The built-in default scenario.</summary>
    public static Scenario Default(IReadOnlyList<string>? overrides = null)
    {
        var result = Parse(DefaultText, BuiltInName, overrides);
        return result.Scenario ?? throw new InvalidOperationException($"the built-in scenario does not parse: {result.Error}");
    }

    /// <summary>Reads a scenario file.</summary>
    /// <param name="path">The file.</param>
    /// <param name="overrides">Assignments <c>key.path=value</c> applied before binding (as --compare does).</param>
    public static ScenarioParseResult ParseFile(string path, IReadOnlyList<string>? overrides = null)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return new(null, new ScenarioError(path, 0, 0, $"cannot read the scenario: {e.Message}"));
        }

        return Parse(text, path, overrides);
    }

    /// <summary>Parses scenario text.</summary>
    /// <param name="text">The TOML text.</param>
    /// <param name="file">The name errors carry.</param>
    /// <param name="overrides">Assignments <c>key.path=value</c> applied before binding.</param>
    public static ScenarioParseResult Parse(string text, string file, IReadOnlyList<string>? overrides = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        try
        {
            var tree = TomlTree.Parse(text, file);
            foreach (var assignment in overrides ?? [])
            {
                Overrides.Apply(tree, assignment, file);
            }

            return new(ScenarioBinder.Bind(tree, file), null);
        }
        catch (ScenarioBindException e)
        {
            return new(null, e.Error);
        }
    }
}
