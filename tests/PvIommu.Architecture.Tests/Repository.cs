using System.Xml.Linq;
using PvIommu.Tests.Shared;

namespace PvIommu.Architecture.Tests;

/// <summary>The checkout the tests run from, and the project files in it.</summary>
internal static class Repository
{
    /// <summary>The first folder above the test binaries that holds <c>PvIommu.slnx</c>.</summary>
    public static string Root => RepositoryRoot.Folder;

    /// <summary>Every <c>FOLDER/*/*.csproj</c> of the given folders, as paths from the root with '/'.</summary>
    public static IReadOnlyList<string> Projects(params string[] folders) =>
    [
        .. folders
            .Select(folder => Path.Combine(Root, folder))
            .Where(Directory.Exists)
            .SelectMany(Directory.EnumerateDirectories)
            .SelectMany(project => Directory.EnumerateFiles(project, "*.csproj"))
            .Select(file => Path.GetRelativePath(Root, file).Replace('\\', '/'))
            .Order(StringComparer.Ordinal),
    ];

    /// <summary>Every project PvIommu.slnx lists, as paths from the root with '/'.</summary>
    public static IReadOnlyList<string> SolutionProjects() =>
    [
        .. XDocument.Load(Path.Combine(Root, "PvIommu.slnx")).Descendants("Project")
            .Select(e => (string?)e.Attribute("Path"))
            .OfType<string>()
            .Select(path => path.Replace('\\', '/')),
    ];

    /// <summary>A project file's text.</summary>
    public static string Read(string project) => File.ReadAllText(Path.Combine(Root, project));

    /// <summary>
    /// Each src/ layer's assembly name (its <c>AssemblyName</c>, else the file name) with its layer;
    /// unknown layers are left out (the project test reports them).
    /// </summary>
    public static Dictionary<string, string> LayerOfAssembly()
    {
        var map = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var layer in Layers.Allowed.Keys)
        {
            var project = ReferenceChecker.LayerProject(layer);
            if (!File.Exists(Path.Combine(Root, project)))
            {
                continue;
            }

            var assemblyName = XDocument.Parse(Read(project)).Descendants()
                .Where(e => e.Name.LocalName == "AssemblyName")
                .Select(e => e.Value.Trim())
                .LastOrDefault();
            map[assemblyName ?? Path.GetFileNameWithoutExtension(project)] = layer;
        }

        return map;
    }
}
