using System.Xml.Linq;

namespace PvIommu.Architecture.Tests;

/// <summary>
/// Checks references against <see cref="Layers"/>. A project is known by where it lives:
/// <code>
/// src/PvIommu.X/PvIommu.X.csproj               layer X: what X's arrows allow
/// tests/PvIommu.X.Tests/PvIommu.X.Tests.csproj  tests of X: X, and what X may reference
/// bench/PvIommu.Benchmarks/...                  every library layer
/// </code>
/// Anything else is unknown and fails, so a new assembly forces an update of the map.
/// </summary>
internal static class ReferenceChecker
{
    /// <summary>The benchmark project's file, from the repository root.</summary>
    public const string BenchmarksProject = "bench/PvIommu.Benchmarks/PvIommu.Benchmarks.csproj";

    private const string Prefix = "PvIommu.";
    private const string TestsSuffix = ".Tests";

    /// <summary>A layer's project file, from the repository root.</summary>
    public static string LayerProject(string layer) => $"src/{Prefix}{layer}/{Prefix}{layer}.csproj";

    /// <summary>The problems with one project's references; empty when it obeys the map.</summary>
    /// <param name="project">The project file's path from the repository root, with '/'.</param>
    /// <param name="csproj">The project file's text.</param>
    public static List<string> CheckProject(string project, string csproj)
    {
        var allowed = AllowedReferences(project);
        if (allowed is null)
        {
            return [$"{project}: not a project the architecture knows; add its layer to Layers (and to architecture.md, with a decision) or move it"];
        }

        var problems = new List<string>();
        foreach (var include in ProjectReferences(csproj))
        {
            var target = Resolve(project, include);
            if (target is null)
            {
                problems.Add($"{project}: cannot resolve the reference '{include}'");
            }
            else if (!allowed.Contains(target))
            {
                problems.Add($"{project} -> {target}: not allowed by architecture.md");
            }
        }

        return problems;
    }

    /// <summary>
    /// The problems with one built assembly's references. <paramref name="layerOfAssembly"/> maps
    /// each of our assembly names to its layer; any other name that looks like ours is unknown.
    /// </summary>
    public static List<string> CheckAssembly(string layer, IEnumerable<string> references, IReadOnlyDictionary<string, string> layerOfAssembly)
    {
        var problems = new List<string>();
        foreach (var reference in references)
        {
            if (layerOfAssembly.TryGetValue(reference, out var target))
            {
                if (!Layers.MayReference(layer, target))
                {
                    problems.Add($"{layer} -> {target} (assembly {reference}): not allowed by architecture.md");
                }
            }
            else if (LooksOurs(reference))
            {
                problems.Add($"{layer} -> {reference}: an assembly of ours that is no known layer");
            }
        }

        return problems;
    }

    /// <summary>Whether an assembly name belongs to this project (the CLI's is <c>pviommu</c>).</summary>
    public static bool LooksOurs(string assemblyName) =>
        assemblyName.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase)
        || assemblyName.Equals("pviommu", StringComparison.OrdinalIgnoreCase);

    /// <summary>The project files <paramref name="project"/> may reference, or null when the map does not know it.</summary>
    public static HashSet<string>? AllowedReferences(string project)
    {
        var parts = project.Split('/');
        if (parts.Length != 3 || parts[2] != parts[1] + ".csproj" || !parts[1].StartsWith(Prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var name = parts[1][Prefix.Length..];
        return parts[0] switch
        {
            "src" when Layers.Allowed.TryGetValue(name, out var layers) => Projects(layers),
            "bench" when name == "Benchmarks" => Projects(Layers.Libraries),
            "tests" when name.EndsWith(TestsSuffix, StringComparison.Ordinal) => AllowedForTestsOf(name[..^TestsSuffix.Length]),
            _ => null,
        };
    }

    /// <summary>The <c>Include</c> of every <c>ProjectReference</c>, whatever the XML namespace.</summary>
    public static IEnumerable<string> ProjectReferences(string csproj) =>
        XDocument.Parse(csproj)
            .Descendants()
            .Where(e => e.Name.LocalName == "ProjectReference")
            .Select(e => (string?)e.Attribute("Include"))
            .OfType<string>()
            .SelectMany(include => include.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    /// <summary>A reference's path from the repository root, or null when it uses MSBuild properties or leaves the tree.</summary>
    public static string? Resolve(string project, string include)
    {
        if (include.Contains("$(", StringComparison.Ordinal) || include.Contains('*', StringComparison.Ordinal))
        {
            return null;
        }

        var segments = new List<string>(project.Split('/')[..^1]);
        foreach (var segment in include.Replace('\\', '/').Split('/'))
        {
            switch (segment)
            {
                case "" or ".":
                    break;
                case "..":
                    if (segments.Count == 0)
                    {
                        return null;
                    }

                    segments.RemoveAt(segments.Count - 1);
                    break;
                default:
                    segments.Add(segment);
                    break;
            }
        }

        return string.Join('/', segments);
    }

    private static HashSet<string>? AllowedForTestsOf(string subject) => subject switch
    {
        // The architecture tests read every layer's build output.
        "Architecture" => Projects(Layers.Allowed.Keys),
        "Benchmarks" => [BenchmarksProject, .. Projects(Layers.Libraries)],
        // A layer's tests may also run it against the real lower layers, e.g. the Guest driver
        // against the real hypervisor (decision 0002); the arrows bind src/, not test code.
        _ when Layers.Allowed.ContainsKey(subject) => [LayerProject(subject), .. Projects(Layers.Libraries)],
        _ => null,
    };

    private static HashSet<string> Projects(IEnumerable<string> layers) => [.. layers.Select(LayerProject)];
}
