using System.Text.RegularExpressions;

namespace PvIommu.Report.Tests;

/// <summary>The HTML report is one self-contained file with inline SVG charts.</summary>
public partial class HtmlReportTests
{
    [Fact]
    public void Report_IsSelfContained()
    {
        var html = HtmlReport.Render(Runs.Default);
        Assert.DoesNotMatch(UrlPattern(), html);
        Assert.DoesNotContain("<link", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(" src=", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("@import", html, StringComparison.OrdinalIgnoreCase);
        Assert.StartsWith("<!DOCTYPE html>", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Report_HasEveryChart_AsInlineSvg()
    {
        var r = Runs.Default;
        var html = HtmlReport.Render(r);
        var charts = ChartPattern().Count(html);

        // A map per context, three timelines, a histogram per device, arena occupancy.
        Assert.Equal(r.Contexts.Count + 3 + r.Devices.Count + 1, charts);
        foreach (var id in (string[])["checks", "summary", "maps", "timeline", "latency", "faults", "arena", "settings"])
        {
            Assert.Contains($"id=\"{id}\"", html, StringComparison.Ordinal);
        }

        Assert.Contains("<polyline", html, StringComparison.Ordinal);
        Assert.Contains("<rect class=\"series\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain("id=\"compare\"", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Report_WithComparison_HasTheComparisonSection()
    {
        var c = Runs.Compare;
        var html = HtmlReport.Render(c.Results[0], c);
        Assert.Contains("id=\"compare\"", html, StringComparison.Ordinal);
        Assert.Contains("driver.policy=deferred", html, StringComparison.Ordinal);
        Assert.DoesNotMatch(UrlPattern(), html);
    }

    [Fact]
    public void Report_FaultLog_ListsTheRoguesFaults()
    {
        var html = HtmlReport.Render(Runs.Default);
        Assert.Contains("0000:00:05.0", html, StringComparison.Ordinal);
        Assert.Contains("not mapped", html, StringComparison.Ordinal);
    }

    [GeneratedRegex("https?://", RegexOptions.IgnoreCase)]
    private static partial Regex UrlPattern();

    [GeneratedRegex("<svg class=\"chart")]
    private static partial Regex ChartPattern();
}
