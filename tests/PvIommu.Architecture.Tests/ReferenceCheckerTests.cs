namespace PvIommu.Architecture.Tests;

/// <summary>The checker itself: it must find what it is there to find.</summary>
public class ReferenceCheckerTests
{
    private static string Csproj(params string[] includes) =>
        "<Project Sdk=\"Microsoft.NET.Sdk\"><ItemGroup>"
        + string.Concat(includes.Select(i => $"<ProjectReference Include=\"{i}\" />"))
        + "</ItemGroup></Project>";

    [Fact]
    public void CheckProject_AbiReferencingPlatform_ReportsIt()
    {
        var problems = ReferenceChecker.CheckProject(
            "src/PvIommu.Abi/PvIommu.Abi.csproj", Csproj("../PvIommu.Platform/PvIommu.Platform.csproj"));

        var problem = Assert.Single(problems);
        Assert.Contains("src/PvIommu.Abi/PvIommu.Abi.csproj -> src/PvIommu.Platform/PvIommu.Platform.csproj", problem);
    }

    [Fact]
    public void CheckProject_PlatformReferencingHypervisorWithBackslashes_ReportsIt()
    {
        var problems = ReferenceChecker.CheckProject(
            "src/PvIommu.Platform/PvIommu.Platform.csproj", Csproj(@"..\PvIommu.Hypervisor\PvIommu.Hypervisor.csproj"));

        Assert.Contains("-> src/PvIommu.Hypervisor/PvIommu.Hypervisor.csproj", Assert.Single(problems));
    }

    [Fact]
    public void CheckProject_AllowedArrows_ReportsNothing()
    {
        var problems = ReferenceChecker.CheckProject(
            "src/PvIommu.Hypervisor/PvIommu.Hypervisor.csproj",
            Csproj("../PvIommu.Platform/PvIommu.Platform.csproj", "../PvIommu.Abi/PvIommu.Abi.csproj"));

        Assert.Empty(problems);
    }

    [Fact]
    public void CheckProject_UnknownLayer_ReportsIt()
    {
        var problems = ReferenceChecker.CheckProject("src/PvIommu.Gadgets/PvIommu.Gadgets.csproj", Csproj());

        Assert.Contains("not a project the architecture knows", Assert.Single(problems));
    }

    [Fact]
    public void CheckProject_LayerReferencingATestProject_ReportsIt()
    {
        var problems = ReferenceChecker.CheckProject(
            "src/PvIommu.Simulation/PvIommu.Simulation.csproj",
            Csproj("../../tests/PvIommu.Platform.Tests/PvIommu.Platform.Tests.csproj"));

        Assert.Single(problems);
    }

    [Fact]
    public void CheckProject_ReferenceThroughAProperty_ReportsIt()
    {
        var problems = ReferenceChecker.CheckProject(
            "src/PvIommu.Guest/PvIommu.Guest.csproj", Csproj("$(RepoRoot)/src/PvIommu.Abi/PvIommu.Abi.csproj"));

        Assert.Contains("cannot resolve", Assert.Single(problems));
    }

    [Fact]
    public void CheckProject_TestsReferencingTheirLayerAndItsDependency_ReportsNothing()
    {
        var problems = ReferenceChecker.CheckProject(
            "tests/PvIommu.Devices.Tests/PvIommu.Devices.Tests.csproj",
            Csproj("../../src/PvIommu.Devices/PvIommu.Devices.csproj", "../../src/PvIommu.Platform/PvIommu.Platform.csproj"));

        Assert.Empty(problems);
    }

    [Fact]
    public void CheckProject_TestsReferencingTheCompositionRoot_ReportsIt()
    {
        // Tests may use any library layer (decision 0002), never the CLI.
        var problems = ReferenceChecker.CheckProject(
            "tests/PvIommu.Abi.Tests/PvIommu.Abi.Tests.csproj",
            Csproj("../../src/PvIommu.Abi/PvIommu.Abi.csproj", "../../src/PvIommu.Cli/PvIommu.Cli.csproj"));

        Assert.Contains("-> src/PvIommu.Cli/PvIommu.Cli.csproj", Assert.Single(problems));
    }

    [Fact]
    public void CheckProject_TestsUsingALowerLayer_IsAllowed()
    {
        var problems = ReferenceChecker.CheckProject(
            "tests/PvIommu.Guest.Tests/PvIommu.Guest.Tests.csproj",
            Csproj("../../src/PvIommu.Guest/PvIommu.Guest.csproj", "../../src/PvIommu.Hypervisor/PvIommu.Hypervisor.csproj"));

        Assert.Empty(problems);
    }

    [Fact]
    public void CheckProject_TestsOfAnUnknownLayer_ReportsIt()
    {
        var problems = ReferenceChecker.CheckProject("tests/PvIommu.Gadgets.Tests/PvIommu.Gadgets.Tests.csproj", Csproj());

        Assert.Single(problems);
    }

    [Fact]
    public void CheckAssembly_ForbiddenAndUnknownReferences_ReportsBoth()
    {
        var layerOfAssembly = new Dictionary<string, string> { ["PvIommu.Guest"] = "Guest", ["PvIommu.Platform"] = "Platform" };

        var problems = ReferenceChecker.CheckAssembly(
            "Guest", ["System.Runtime", "PvIommu.Platform", "PvIommu.Gadgets"], layerOfAssembly);

        Assert.Equal(2, problems.Count);
        Assert.Contains("Guest -> Platform", problems[0]);
        Assert.Contains("PvIommu.Gadgets", problems[1]);
    }

    [Fact]
    public void Layers_FormNoCycle()
    {
        // A cycle would make "may reference" meaningless (and MSBuild refuses one anyway).
        var done = new HashSet<string>();
        foreach (var layer in Layers.Allowed.Keys)
        {
            Visit(layer, []);
        }

        void Visit(string layer, HashSet<string> path)
        {
            Assert.True(path.Add(layer), $"cycle through {layer}");
            if (done.Add(layer))
            {
                foreach (var next in Layers.Allowed[layer])
                {
                    Visit(next, [.. path]);
                }
            }
        }
    }
}
