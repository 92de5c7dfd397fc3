using System.Text.Json;
using PvIommu.Cli.Tests.Support;

namespace PvIommu.Cli.Tests;

/// <summary>
/// <c>pviommu simulate</c> as a user runs it: exit codes (README: 0 ok, 2 bad command line or bad
/// input), what goes to stdout and stderr, byte-identical JSON for one seed, the report file.
/// Runs other than the first are shortened with <c>--set duration=...</c>.
/// </summary>
[Collection(ConsoleOutCollection.Name)]
public sealed class SimulateCommandTests : IDisposable
{
    /// <summary>README's exit code for a bad command line or bad input.</summary>
    private const int BadInput = 2;

    /// <summary>A small scenario whose line 9 has a key [host] does not know.</summary>
    private const string BadOnLine9 = """
        name = "small"
        seed = 7
        duration = "2ms"

        [host]
        memory = "6GiB"
        cpus = 2
        preempt_batch = 256
        superpage = false

        [[host.iommu]]
        name = "dmar0"
        scope = "include-all"
        """;

    private readonly string _dir = Directory.CreateTempSubdirectory("pviommu-simulate-tests-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Simulate_Default_ExitsZero_PrintsSummaryAndPassedChecks()
    {
        var (exit, output, error) = Run("simulate");

        Assert.Equal(0, exit);
        Assert.Equal(string.Empty, error);
        Assert.StartsWith("pviommu simulate: default (seed 1, 100 ms simulated)", output, StringComparison.Ordinal);
        foreach (var section in new[] { "\nDomains\n", "\nDevices\n", "\nContexts\n", "\nIOMMU units\n", "\nChecks\n" })
        {
            Assert.Contains(section, output, StringComparison.Ordinal);
        }

        Assert.Contains("host: superpages true", output, StringComparison.Ordinal);
        Assert.Contains("  ok    ", output, StringComparison.Ordinal);
        Assert.DoesNotContain("FAIL", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Simulate_Json_Parses_AndTheSameSeedGivesTheSameBytes()
    {
        var first = Run("simulate", "--json", "--seed", "3", "--set", "duration=5ms");
        var second = Run("simulate", "--json", "--seed", "3", "--set", "duration=5ms");
        var other = Run("simulate", "--json", "--seed", "4", "--set", "duration=5ms");

        Assert.Equal(0, first.Exit);
        Assert.Equal(string.Empty, first.Error);
        Assert.Equal(first.Output, second.Output);
        Assert.NotEqual(first.Output, other.Output);
        using var json = JsonDocument.Parse(first.Output);
        var root = json.RootElement;
        Assert.Equal(3UL, root.GetProperty("seed").GetUInt64());
        Assert.Equal(5_000_000, root.GetProperty("durationNs").GetInt64());
        Assert.Contains(root.GetProperty("settings").EnumerateArray(), s => s.GetProperty("key").GetString() == "host.superpages" && s.GetProperty("value").GetString() == "true");
        Assert.True(root.GetProperty("devices").GetArrayLength() > 0);
    }

    [Fact]
    public void Simulate_BadScenarioFile_ExitsBadInput_OneLineWithFileAndLine_NoStackTrace()
    {
        var file = Write("bad.toml", BadOnLine9);

        var (exit, output, error) = Run("simulate", file);

        Assert.Equal(BadInput, exit);
        Assert.Equal(string.Empty, output);
        var line = Assert.Single(Lines(error));
        Assert.Contains($"{file}:9:", line, StringComparison.Ordinal);
        Assert.Contains("unknown key 'superpage'", line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Simulate_MissingFile_ExitsBadInput_NamesTheFile()
    {
        var file = Path.Combine(_dir, "nowhere.toml");

        var (exit, output, error) = Run("simulate", file);

        Assert.Equal(BadInput, exit);
        Assert.Equal(string.Empty, output);
        var line = Assert.Single(Lines(error));
        Assert.Contains(file, line, StringComparison.Ordinal);
        Assert.Contains("cannot read", line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("driver.nosuch=1,2", "unknown key 'nosuch'")]
    [InlineData("host.superpages=false,maybe", "'superpages' must be true or false")]
    [InlineData("driver.policy", "--compare expects KEY=V1,V2")]
    [InlineData("driver.policy=strict", "--compare expects KEY=V1,V2")]
    public void Simulate_BadCompare_ExitsBadInput_OneLineSayingWhy(string compare, string expected)
    {
        var (exit, output, error) = Run("simulate", "--compare", compare, "--set", "duration=2ms");

        Assert.Equal(BadInput, exit);
        Assert.Equal(string.Empty, output);
        var line = Assert.Single(Lines(error));
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Simulate_CompareHostSuperpages_ShowsMoreTablePagesWithout()
    {
        var (exit, output, error) = Run("simulate", "--compare", "host.superpages=false,true", "--set", "duration=2ms");

        Assert.Equal(0, exit);
        Assert.Equal(string.Empty, error);
        Assert.StartsWith("pviommu simulate --compare host.superpages: false vs true (default, seed 1)", output, StringComparison.Ordinal);
        var row = Lines(output).Single(l => l.TrimStart().StartsWith("table pages", StringComparison.Ordinal));
        var cells = row.Split("  ", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(4, cells.Length);
        var without = long.Parse(cells[1], System.Globalization.NumberStyles.AllowThousands, System.Globalization.CultureInfo.InvariantCulture);
        var with = long.Parse(cells[2], System.Globalization.NumberStyles.AllowThousands, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(without > with, row);
        Assert.StartsWith("-", cells[3], StringComparison.Ordinal);
        Assert.Contains("host.superpages=false: all checks passed", output, StringComparison.Ordinal);
        Assert.Contains("host.superpages=true: all checks passed", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Simulate_Report_WritesTheHtmlFile_AndSaysWhere()
    {
        var file = Path.Combine(_dir, "run.html");

        var (exit, output, error) = Run("simulate", "--report", file, "--set", "duration=2ms");

        Assert.Equal(0, exit);
        Assert.Equal(string.Empty, error);
        Assert.True(File.Exists(file));
        var html = File.ReadAllText(file);
        Assert.StartsWith("<!DOCTYPE html>", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("host.superpages", html, StringComparison.Ordinal);
        Assert.Contains($"report: {file}", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Simulate_ReportIntoMissingFolder_ExitsBadInput_OneLine()
    {
        var file = Path.Combine(_dir, "no-such-folder", "run.html");

        var (exit, _, error) = Run("simulate", "--report", file, "--set", "duration=2ms");

        Assert.Equal(BadInput, exit);
        var line = Assert.Single(Lines(error));
        Assert.Contains("cannot write the report", line, StringComparison.Ordinal);
        Assert.False(File.Exists(file));
    }

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static (int Exit, string Output, string Error) Run(params string[] args) => CliConsole.Run(args);
}
