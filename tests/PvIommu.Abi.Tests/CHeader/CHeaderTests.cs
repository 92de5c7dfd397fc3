using Xunit.Abstractions;

namespace PvIommu.Abi.Tests.CHeader;

/// <summary>
/// The C header describes the same bytes as the C# structs (architecture.md, Abi; style habit 5):
/// a program generated from the catalogue is compiled against <c>clients/c/include/pv-iommu.h</c>
/// with the system gcc, run, and its every line compared with the catalogue.
/// </summary>
public sealed class CHeaderTests(ITestOutputHelper output)
{
    private const string GccMissing =
        "gcc is not on PATH. The C-header test compiles clients/c/include/pv-iommu.h with the system C compiler; " +
        "install gcc (CI installs it) rather than skipping this test.";

    private static readonly string[] _cFlags = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic"];

    [Fact]
    public void Header_CompiledWithGcc_MatchesCatalogueSizesOffsetsAndConstants()
    {
        Assert.True(Toolchain.Exists("gcc"), GccMissing);
        using var dir = new Toolchain.TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "abi.c"), CProgram.Source());

        var compile = Toolchain.Run("gcc", [.. _cFlags, "-I", RepoRoot.CInclude, "-o", "abi", "abi.c"], dir.Path);
        Assert.True(compile.ExitCode == 0, $"gcc {string.Join(' ', _cFlags)} failed on pv-iommu.h:\n{compile.StdErr}");
        var run = Toolchain.Run(Path.Combine(dir.Path, "abi"), [], dir.Path);
        Assert.Equal(0, run.ExitCode);

        var actual = run.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var expected = CProgram.ExpectedOutput().ToArray();
        var missing = expected.Except(actual).ToArray();
        var extra = actual.Except(expected).ToArray();
        Assert.True(
            missing.Length == 0 && extra.Length == 0,
            "pv-iommu.h and the C# catalogue disagree; this breaks C drivers.\n" +
            $"Catalogue expects:\n  {string.Join("\n  ", missing)}\nThe header gives:\n  {string.Join("\n  ", extra)}");
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void Header_CompiledAsCpp17_HasNoWarnings()
    {
        // Only a check of the header's C++ guards; C++ drivers are welcome, not required.
        if (!Toolchain.Exists("g++"))
        {
            output.WriteLine("g++ is not on PATH: the C++ check of pv-iommu.h did not run.");
            return;
        }

        using var dir = new Toolchain.TempDir();
        File.WriteAllText(
            Path.Combine(dir.Path, "abi.cpp"),
            "#include \"pv-iommu.h\"\nint main() { pv_iommu_map_pages op{}; return static_cast<int>(op.mapped); }\n");

        var compile = Toolchain.Run(
            "g++", ["-std=c++17", "-Wall", "-Wextra", "-Werror", "-pedantic", "-I", RepoRoot.CInclude, "-o", "abi", "abi.cpp"], dir.Path);

        Assert.True(compile.ExitCode == 0, $"g++ -std=c++17 failed on pv-iommu.h:\n{compile.StdErr}");
    }
}
