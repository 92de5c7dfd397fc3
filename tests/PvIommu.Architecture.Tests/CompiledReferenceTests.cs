using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace PvIommu.Architecture.Tests;

/// <summary>
/// The same arrows, read from the compiled assemblies beside these tests: what a layer's IL
/// really references, whatever its project file says (a raw Reference or a package can
/// smuggle a layer in).
/// </summary>
public class CompiledReferenceTests
{
    [Fact]
    public void BuiltLayerAssemblies_ReferenceOnlyWhatTheirLayerMay()
    {
        var layerOfAssembly = Repository.LayerOfAssembly();
        var problems = new List<string>();
        var checkedLayers = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(AppContext.BaseDirectory, "*.dll"))
        {
            if (!ReferenceChecker.LooksOurs(Path.GetFileNameWithoutExtension(file)))
            {
                continue;
            }

            var (name, references) = ReadMetadata(file);
            if (layerOfAssembly.TryGetValue(name, out var layer))
            {
                checkedLayers.Add(layer);
                problems.AddRange(ReferenceChecker.CheckAssembly(layer, references, layerOfAssembly));
            }
            else if (!name.EndsWith(".Tests", StringComparison.Ordinal))
            {
                problems.Add($"{name}: an assembly of ours that is no known layer");
            }
        }

        Verdict.AssertNone(problems);

        // Every layer this project references must have been read, or the check proved nothing.
        var referenced = ReferenceChecker
            .ProjectReferences(Repository.Read("tests/PvIommu.Architecture.Tests/PvIommu.Architecture.Tests.csproj"))
            .Select(include => Path.GetFileNameWithoutExtension(include.Replace('\\', '/'))["PvIommu.".Length..]);
        Assert.Superset(referenced.ToHashSet(StringComparer.Ordinal), checkedLayers);
    }

    private static (string Name, List<string> References) ReadMetadata(string file)
    {
        using var stream = File.OpenRead(file);
        using var pe = new PEReader(stream);
        var reader = pe.GetMetadataReader();
        var name = reader.GetString(reader.GetAssemblyDefinition().Name);
        var references = reader.AssemblyReferences
            .Select(handle => reader.GetString(reader.GetAssemblyReference(handle).Name))
            .ToList();
        return (name, references);
    }
}
