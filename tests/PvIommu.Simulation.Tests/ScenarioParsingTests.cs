using PvIommu.Simulation.Scenarios;
using PvIommu.Tests.Shared;

namespace PvIommu.Simulation.Tests;

/// <summary>Scenario files: valid ones bind; every class of bad input gives the file, the line and what was expected.</summary>
public class ScenarioParsingTests
{
    private const string File = "test.toml";

    /// <summary>A small valid scenario; tests break one line of it at a time.</summary>
    internal const string Valid = """
        name = "small"
        seed = 7
        duration = "5ms"

        [host]
        memory = "6GiB"

        [[host.iommu]]
        name = "dmar0"
        scope = "include-all"

        [[host.pci]]
        bdf = "00:02.0"
        class = "nic"

        [driver]
        policy = "strict"

        [[domain]]
        name = "Domain-0"
        hardware = true
        memory = 1024
        pci = ['00:02.0']

        [[workload]]
        kind = "nic-rx"
        device = "00:02.0"
        line_rate = "1Gbps"
        """;

    [Fact]
    public void DefaultScenario_Parses_WithTheWholeStory()
    {
        var s = ScenarioParser.Default();
        Assert.Equal(2, s.Host.Units.Count);
        Assert.Equal(2, s.Domains.Count);
        Assert.True(s.Domains[0].Hardware);
        Assert.Contains(s.Workloads, w => w is RogueSpec);
        Assert.Contains(s.Workloads, w => w is BulkSpec { Driver: BulkDriver.Vfio });
        Assert.Contains(s.Workloads, w => w is NicRxSpec && !s.Domains[0].Pci.Contains(w.Device));
    }

    [Fact]
    public void DefaultScenario_IsTheExampleFile()
    {
        var example = Path.Combine(RepositoryRoot.Folder, "examples", "default.toml");
        Assert.Equal(System.IO.File.ReadAllText(example), ScenarioParser.DefaultText);
    }

    public static TheoryData<string> Examples() => [.. Directory.GetFiles(Path.Combine(RepositoryRoot.Folder, "examples"), "*.toml").Select(f => Path.GetFileName(f))];

    [Theory]
    [MemberData(nameof(Examples))]
    public void Example_Parses(string name)
    {
        var result = ScenarioParser.ParseFile(Path.Combine(RepositoryRoot.Folder, "examples", name));
        Assert.True(result.IsOk, result.Error?.ToString());
    }

    [Fact]
    public void ValidScenario_BindsEveryValue()
    {
        var result = ScenarioParser.Parse(Valid, File);
        Assert.True(result.IsOk, result.Error?.ToString());
        var s = result.Scenario!;
        Assert.Equal("small", s.Name);
        Assert.Equal(7UL, s.Seed);
        Assert.Equal(5_000_000, s.DurationNs);
        Assert.Equal(6UL << 30, s.Host.MemoryBytes);
        Assert.True(s.Host.Superpages);
        var nic = Assert.IsType<NicRxSpec>(Assert.Single(s.Workloads));
        Assert.Equal(1e9, nic.LineRateBitsPerSecond);
        Assert.Equal(1, nic.WriteBack);
    }

    public static TheoryData<string, string, int, string> BadInputs() => new()
    {
        // TOML syntax.
        { "duration = \"5ms\"", "duration = \"5ms", 3, "not valid TOML" },
        // A key nobody reads (a typo must not pass silently).
        { "policy = \"strict\"", "polcy = \"strict\"", 17, "unknown key 'polcy'" },
        // A value of the wrong type.
        { "memory = 1024", "memory = \"lots\"", 22, "'memory' must be an integer" },
        // A choice outside its set.
        { "policy = \"strict\"", "policy = \"sometimes\"", 17, "\"strict\", \"deferred\"" },
        // A flag that is no flag.
        { "memory = \"6GiB\"", "memory = \"6GiB\"\nsuperpages = \"no\"", 7, "'superpages' must be true or false" },
        // A size that is no size.
        { "memory = \"6GiB\"", "memory = \"6 furlongs\"", 6, "must be a size such as" },
        // A duration that is no duration.
        { "duration = \"5ms\"", "duration = \"soon\"", 3, "must be a duration such as" },
        // A PCI address that is no address.
        { "bdf = \"00:02.0\"", "bdf = \"00:42.9\"", 13, "must be a PCI address" },
        // A rate that is no rate.
        { "line_rate = \"1Gbps\"", "line_rate = \"fast\"", 28, "must be a line rate" },
        // A number out of range.
        { "scope = \"include-all\"", "scope = \"include-all\"\nlevels = 3", 11, "'levels' must be from 4 to 5" },
        // An unknown workload kind.
        { "kind = \"nic-rx\"", "kind = \"nic-tx-rx\"", 26, "'kind' must be one of" },
        // A required key missing (reported at the section).
        { "device = \"00:02.0\"\n", string.Empty, 25, "missing 'device'" },
        // A key set twice.
        { "seed = 7", "seed = 7\nseed = 8", 3, "already" },
        // A write-back burst longer than the NIC's descriptor cache.
        { "line_rate = \"1Gbps\"", "line_rate = \"1Gbps\"\nwrite_back = 33", 29, "'write_back' must be from 1 to 32" },
        // A share out of range.
        { "line_rate = \"1Gbps\"", "line_rate = \"1Gbps\"\nrecycle = 1.5", 29, "'recycle' must be a share from 0 to 1" },
        // A workload on a device no domain drives.
        { "pci = ['00:02.0']", "pci = []", 25, "is in no domain's pci list" },
        // No hardware domain.
        { "hardware = true", "hardware = false", 0, "hardware = true" },
        // A device the host does not have.
        { "pci = ['00:02.0']", "pci = ['00:03.0']", 19, "which is not a device of [[host.pci]]" },
        // A section of the wrong shape.
        { "[driver]", "[[driver]]", 16, "'driver' must be a table" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void BadInput_IsReportedWithFileLineAndWhatWasExpected(string replace, string with, int line, string expected)
    {
        Assert.Contains(replace, Valid, StringComparison.Ordinal);
        var result = ScenarioParser.Parse(Valid.Replace(replace, with, StringComparison.Ordinal), File);
        Assert.False(result.IsOk);
        var error = result.Error!;
        Assert.Equal(File, error.File);
        if (line != 0)
        {
            Assert.Equal(line, error.Line);
        }

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.StartsWith($"{File}:", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void MissingFile_IsAnErrorNamingIt()
    {
        var result = ScenarioParser.ParseFile("/nonexistent/scenario.toml");
        Assert.False(result.IsOk);
        Assert.Equal("/nonexistent/scenario.toml", result.Error!.File);
        Assert.Contains("cannot read", result.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Override_ChangesAValue_AndABadOneIsReported()
    {
        var ok = ScenarioParser.Parse(Valid, File, ["driver.policy=deferred", "workload.nic-rx=1"]);
        Assert.False(ok.IsOk);
        Assert.Contains("unknown key 'nic-rx'", ok.Error!.Message, StringComparison.Ordinal);

        var deferred = ScenarioParser.Parse(Valid, File, ["driver.policy=deferred", "workload.0.recycle=0.5"]);
        Assert.True(deferred.IsOk, deferred.Error?.ToString());
        Assert.Equal(UnmapMode.Deferred, deferred.Scenario!.Driver.Policy);
        Assert.Equal(0.5, Assert.IsType<NicRxSpec>(deferred.Scenario.Workloads[0]).Recycle);

        var bad = ScenarioParser.Parse(Valid, File, ["driver.policy=sometimes"]);
        Assert.Contains("\"strict\"", bad.Error!.Message, StringComparison.Ordinal);
        Assert.Contains("--set", bad.Error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void HostSuperpages_BindsFromFileAndOverride()
    {
        var file = ScenarioParser.Parse(Valid.Replace("memory = \"6GiB\"", "memory = \"6GiB\"\nsuperpages = false", StringComparison.Ordinal), File);
        Assert.True(file.IsOk, file.Error?.ToString());
        Assert.False(file.Scenario!.Host.Superpages);
        Assert.True(file.Scenario.Driver.Superpages);

        var set = ScenarioParser.Parse(Valid, File, ["host.superpages=false"]);
        Assert.True(set.IsOk, set.Error?.ToString());
        Assert.False(set.Scenario!.Host.Superpages);

        var bad = ScenarioParser.Parse(Valid, File, ["host.superpages=maybe"]);
        Assert.False(bad.IsOk);
        Assert.Contains("'superpages' must be true or false", bad.Error!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void HostHugePages_OffByDefault_BindsFromFileAndOverride()
    {
        var plain = ScenarioParser.Parse(Valid, File);
        Assert.True(plain.IsOk, plain.Error?.ToString());
        Assert.False(plain.Scenario!.Host.HugePages);

        var file = ScenarioParser.Parse(Valid.Replace("memory = \"6GiB\"", "memory = \"6GiB\"\nhuge_pages = true", StringComparison.Ordinal), File);
        Assert.True(file.IsOk, file.Error?.ToString());
        Assert.True(file.Scenario!.Host.HugePages);

        var set = ScenarioParser.Parse(Valid, File, ["host.huge_pages=true"]);
        Assert.True(set.IsOk, set.Error?.ToString());
        Assert.True(set.Scenario!.Host.HugePages);

        var bad = ScenarioParser.Parse(Valid.Replace("memory = \"6GiB\"", "memory = \"6GiB\"\nhuge_pages = 2", StringComparison.Ordinal), File);
        Assert.False(bad.IsOk);
        Assert.Equal(7, bad.Error!.Line);
        Assert.Contains("'huge_pages' must be true or false", bad.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MachineThatDoesNotHoldTogether_IsReportedNotThrown()
    {
        // dmar0 covers only bus 01, so 00:02.0 has no unit.
        var text = Valid.Replace("scope = \"include-all\"", "scope = [\"bus 01\"]", StringComparison.Ordinal);
        var parsed = ScenarioParser.Parse(text, File);
        Assert.True(parsed.IsOk, parsed.Error?.ToString());
        var outcome = Simulator.Run(parsed.Scenario!);
        Assert.False(outcome.IsOk);
        Assert.Equal(File, outcome.Error!.File);
        Assert.Contains("no IOMMU unit", outcome.Error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("4KiB", 4096UL)]
    [InlineData("2 MiB", 2UL << 20)]
    [InlineData("1.5GiB", 3UL << 29)]
    [InlineData("512", 512UL)]
    public void Sizes_Parse(string text, ulong bytes)
    {
        Assert.True(Units.TryParseSize(text, out var parsed));
        Assert.Equal(bytes, parsed);
    }

    [Theory]
    [InlineData("50ms", 50e6)]
    [InlineData("0.5us", 500)]
    [InlineData("70ns", 70)]
    [InlineData("2s", 2e9)]
    public void Durations_Parse(string text, double ns)
    {
        Assert.True(Units.TryParseDuration(text, out var parsed));
        Assert.Equal(ns, parsed, 6);
    }

    [Theory]
    [InlineData("10Gbps", 10e9, true)]
    [InlineData("100 Gbit/s", 100e9, true)]
    [InlineData("16GB/s", 16e9, false)]
    [InlineData("4GiB/s", 4294967296.0, false)]
    public void Rates_Parse(string text, double value, bool bits)
    {
        double parsed;
        Assert.True(bits ? Units.TryParseBitRate(text, out parsed) : Units.TryParseByteRate(text, out parsed));
        Assert.Equal(value, parsed, 3);
    }
}
