using System.Text.Json;

namespace PvIommu.Report.Tests;

/// <summary>--json: the same results for scripts, byte for byte the same for the same seed.</summary>
public class JsonReportTests
{
    [Fact]
    public void SameSeed_GivesByteIdenticalJson()
    {
        var a = JsonReport.Render(Runs.Run("duration=10ms", "seed=3"));
        var b = JsonReport.Render(Runs.Run("duration=10ms", "seed=3"));
        Assert.Equal(a, b);
    }

    [Fact]
    public void OtherSeed_GivesOtherJson()
    {
        var a = JsonReport.Render(Runs.Run("duration=10ms", "seed=3"));
        var b = JsonReport.Render(Runs.Run("duration=10ms", "seed=4"));
        Assert.NotEqual(a, b);
    }

    [Fact]
    public void Json_HoldsDomainsDevicesContextsAndFaults()
    {
        using var doc = JsonDocument.Parse(JsonReport.Render(Runs.Default));
        var root = doc.RootElement;
        Assert.Equal("default", root.GetProperty("scenario").GetString());
        Assert.Equal(2, root.GetProperty("domains").GetArrayLength());
        Assert.Equal(5, root.GetProperty("devices").GetArrayLength());
        Assert.True(root.GetProperty("contexts").GetArrayLength() >= 6);
        Assert.True(root.GetProperty("faultsTotal").GetInt64() > 0);
        var device = root.GetProperty("devices")[0];
        foreach (var name in (string[])["bytesRead", "bytesWritten", "faults", "hypercalls", "invalidations", "modelled", "latency"])
        {
            Assert.True(device.TryGetProperty(name, out _), name);
        }
    }

    [Fact]
    public void ComparisonJson_HasOneResultPerValue_AndTheRows()
    {
        using var doc = JsonDocument.Parse(JsonReport.Render(Runs.Compare));
        var root = doc.RootElement;
        Assert.Equal("driver.policy", root.GetProperty("key").GetString());
        Assert.Equal(2, root.GetProperty("results").GetArrayLength());
        Assert.All(root.GetProperty("rows").EnumerateArray(), row => Assert.Equal(2, row.GetProperty("values").GetArrayLength()));
    }
}
