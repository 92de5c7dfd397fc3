using System.Text.Json;
using PvIommu.Cli.Tests.Support;
using PvIommu.Server.Conformance;

namespace PvIommu.Cli.Tests;

/// <summary>
/// <c>pviommu conformance</c> (docs/server.md, "Conformance"): one PASS line per rule in
/// process and against a served child process; exit 2 with one line when nothing listens.
/// </summary>
[Collection(ConsoleOutCollection.Name)]
public sealed class ConformanceCommandTests
{
    [Fact]
    public void Conformance_InProcess_PrintsOnePassLinePerRule_Exit0()
    {
        var (exit, output, error) = CliConsole.Run("conformance");

        Assert.Equal(ExitCodes.Ok, exit);
        AssertEveryRulePassed(output);
        var n = ConformanceSuite.Rules.Count;
        Assert.Equal($"pviommu conformance: in-process: {n} rules, {n} passed, 0 failed", error.Trim());
    }

    [Fact]
    public void Conformance_OverSocket_AgainstServe_EveryRulePasses_AndTheServerStopsCleanly()
    {
        using var server = ServeProcess.Start();

        var (exit, output, error) = CliConsole.Run("conformance", "--socket", server.SocketPath);

        Assert.Equal(ExitCodes.Ok, exit);
        AssertEveryRulePassed(output);
        Assert.Contains($"unix:{server.SocketPath}: {ConformanceSuite.Rules.Count} rules", error, StringComparison.Ordinal);
        server.Terminate();
        Assert.Equal(0, server.WaitForExit());
        Assert.False(File.Exists(server.SocketPath), "the socket file is left behind");
    }

    [Fact]
    public void Conformance_OverSocket_AgainstTheDefaultScenariosHost_EveryRulePasses()
    {
        // examples/default.toml has the default host's shape (docs/server.md says so), though
        // no device model is named and it has two IOMMU units.
        using var server = ServeProcess.Start("--host", "examples/default.toml");
        using (var dom0 = server.Connect(0))
        {
            using var info = JsonDocument.Parse(dom0.HostInfo().Json);
            var domains = info.RootElement.GetProperty("domains").EnumerateArray().ToList();
            Assert.Equal(new[] { "Domain-0", "domu" }, domains.Select(d => d.GetProperty("name").GetString()));
            Assert.All(domains, d => Assert.False(d.TryGetProperty("device_model_of", out _), "a device model is named"));
            Assert.Equal(new[] { "dmar0", "dmar1" }, info.RootElement.GetProperty("iommus").EnumerateArray().Select(u => u.GetProperty("name").GetString()));
        }

        var (exit, output, _) = CliConsole.Run("conformance", "--socket", server.SocketPath);

        Assert.Equal(ExitCodes.Ok, exit);
        AssertEveryRulePassed(output);
    }

    [Fact]
    public void Conformance_SocketWhereNothingListens_OneLine_Exit2()
    {
        var socket = Path.Combine(Path.GetTempPath(), $"pviommu-nobody-{Guid.NewGuid():N}.sock");

        var (exit, output, error) = CliConsole.Run("conformance", "--socket", socket);

        Assert.Equal(ExitCodes.Usage, exit);
        Assert.Empty(output);
        Assert.Equal($"pviommu conformance: cannot connect to unix:{socket}: no such socket file", error.Trim());
    }

    [Fact]
    public void Conformance_SocketAndTcp_IsAUsageError()
    {
        var (exit, output, error) = CliConsole.Run("conformance", "--socket", "x.sock", "--tcp", "127.0.0.1:1");

        Assert.Equal(ExitCodes.Usage, exit);
        Assert.Empty(output);
        Assert.Equal("pviommu conformance: give --socket or --tcp, not both", error.Trim());
    }

    /// <summary>One line per rule of the suite, in order, each a PASS.</summary>
    private static void AssertEveryRulePassed(string output)
    {
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(ConformanceSuite.Rules.Select(r => r.Id), lines.Select(l => l.Split(' ')[1]));
        Assert.All(lines, l => Assert.StartsWith("PASS ", l, StringComparison.Ordinal));
    }
}
