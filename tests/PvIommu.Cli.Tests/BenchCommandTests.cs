using System.Globalization;
using System.Text.Json;
using PvIommu.Cli.Tests.Support;

namespace PvIommu.Cli.Tests;

/// <summary>
/// <c>pviommu bench</c> as <c>perf-compare</c> reads it: one JSON object a line with the contract's
/// fields (perf-contract.md), shortened with <c>--scale</c>; a bad command line exits 2 with a
/// one-line message and runs nothing.
/// </summary>
[Collection(ConsoleOutCollection.Name)]
public class BenchCommandTests
{
    /// <summary>README's exit code for a bad command line.</summary>
    private const int BadInput = 2;

    [Fact]
    public void ReplayNic_Json_HasTheMarkedFiguresAndTheTimeSplit()
    {
        var (exit, output, error) = CliConsole.Run("bench", "--json", "--workload", "replay-nic", "--scale", "0.001");

        Assert.Equal(0, exit);
        Assert.Equal(string.Empty, error);
        var line = Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        using var json = JsonDocument.Parse(line);
        var o = json.RootElement;
        Assert.Equal("replay-nic", o.GetProperty("workload").GetString());
        Assert.Equal("csharp", o.GetProperty("impl").GetString());
        Assert.Equal(0, o.GetProperty("dropped").GetInt64());

        // Deferred unmap: the contract's control-path marks hold even in a short run.
        Assert.InRange(o.GetProperty("hypercalls_per_mib").GetDouble(), 0.01, 1);
        Assert.InRange(o.GetProperty("invalidations_per_mib").GetDouble(), 0.01, 1);

        // The two halves of a page's time are each part of it, for both policies.
        foreach (var prefix in new[] { string.Empty, "strict_" })
        {
            var perPage = 1e9 / o.GetProperty(prefix + "page_dmas_per_s").GetDouble();
            var device = o.GetProperty(prefix + "device_ns_per_page").GetDouble();
            var driver = o.GetProperty(prefix + "driver_ns_per_page").GetDouble();
            Assert.True(device > 0 && driver > 0, string.Create(CultureInfo.InvariantCulture, $"{prefix}device {device}, driver {driver}"));
            Assert.True(device + driver <= perPage * 1.0001, string.Create(CultureInfo.InvariantCulture, $"{prefix}device {device} + driver {driver} > {perPage} ns per page"));
        }
    }

    [Theory]
    [InlineData("--scale", "0", "--scale must be in (0, 1], got 0")]
    [InlineData("--workload", "replay-sata", "unknown workload 'replay-sata'")]
    public void BadCommandLine_ExitsTwo_SaysWhy_RunsNothing(string option, string value, string message)
    {
        var (exit, output, error) = CliConsole.Run("bench", "--json", option, value);

        Assert.Equal(BadInput, exit);
        Assert.Equal(string.Empty, output);
        Assert.Contains(message, error);
        Assert.DoesNotContain(" at ", error); // no stack trace
    }
}
