namespace PvIommu.Report.Tests;

/// <summary>The terminal summary and the side-by-side comparison.</summary>
public class TextSummaryTests
{
    [Fact]
    public void Summary_ListsDomainsDevicesContextsAndWhatWasBlocked()
    {
        var text = TextSummary.Render(Runs.Default);
        foreach (var part in (string[])["Domains", "Devices", "Contexts", "IOMMU units", "Blocked", "Checks", "d0 Domain-0", "d1 domu", "0000:00:05.0", "other domain's RAM", "modelled CPU"])
        {
            Assert.Contains(part, text, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("FAIL", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Compare_ShowsBothColumns_AndTheChange()
    {
        var text = TextSummary.Render(Runs.Compare);
        Assert.Contains("driver.policy=strict", text, StringComparison.Ordinal);
        Assert.Contains("driver.policy=deferred", text, StringComparison.Ordinal);
        var line = text.Split('\n').Single(l => l.TrimStart().StartsWith("IOTLB invalidations", StringComparison.Ordinal));
        var cells = line.Split("  ", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(4, cells.Length);
        Assert.StartsWith("-", cells[3], StringComparison.Ordinal);
    }

    [Fact]
    public void Compare_ReportsTheDeferredUseAfterUnmapWindow()
    {
        var text = TextSummary.Render(Runs.Compare);
        Assert.Contains("driver.policy=strict: all checks passed", text, StringComparison.Ordinal);
        Assert.Contains("driver.policy=deferred: FAIL", text, StringComparison.Ordinal);
    }
}
