namespace PvIommu.Architecture.Tests;

/// <summary>architecture.md, "Layers": every project file references only what its arrows allow.</summary>
public class ProjectReferenceTests
{
    public static TheoryData<string> SourceProjects() => [.. Repository.Projects("src")];

    public static TheoryData<string> TestAndBenchmarkProjects() => [.. Repository.Projects("tests", "bench")];

    [Theory]
    [MemberData(nameof(SourceProjects))]
    public void SourceProject_ReferencesOnlyWhatItsLayerMay(string project) =>
        Verdict.AssertNone(ReferenceChecker.CheckProject(project, Repository.Read(project)));

    [Theory]
    [MemberData(nameof(TestAndBenchmarkProjects))]
    public void TestOrBenchmarkProject_ReferencesOnlyItsLayerAndWhatThatLayerMay(string project) =>
        Verdict.AssertNone(ReferenceChecker.CheckProject(project, Repository.Read(project)));

    [Fact]
    public void Solution_HoldsOnlyProjectsTheMapKnows()
    {
        // A project outside src/, tests/ and bench/ would escape the theories above.
        var projects = Repository.SolutionProjects();
        Assert.Contains("tests/PvIommu.Architecture.Tests/PvIommu.Architecture.Tests.csproj", projects);
        var unknown = projects.Where(p => ReferenceChecker.AllowedReferences(p) is null).ToList();
        Verdict.AssertNone([.. unknown.Select(p => $"{p}: in PvIommu.slnx but not a project the architecture knows")]);
    }

    [Fact]
    public void Tree_HoldsTheLayersTheseTestsReference()
    {
        // Guards against a vacuous pass (a wrong root finds no projects at all).
        var projects = Repository.Projects("src");
        foreach (var layer in new[] { "Abi", "Platform", "Cli" })
        {
            Assert.Contains(ReferenceChecker.LayerProject(layer), projects);
        }
    }
}
