using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace PvIommu.Report.Tests;

/// <summary>The report in a real browser: headless Chromium loads it, every chart draws, the console stays clean.</summary>
public partial class BrowserTests(ITestOutputHelper output)
{
    [SkippableFact]
    public void Report_RendersInChromium_EveryChartDraws_NoConsoleError()
    {
        var why = Chromium.Path is null ? Chromium.Why : null;
        output.WriteLine(why is null ? $"chromium: {Chromium.Why}" : $"skipped: {why}");
        Skip.If(why is not null, why);

        var c = Runs.Compare;
        var html = HtmlReport.Render(c.Results[0], c);
        var file = Path.Combine(Path.GetTempPath(), $"pviommu-report-{Environment.ProcessId}.html");
        File.WriteAllText(file, html);
        try
        {
            var (code, dom, errors) = Chromium.Run(["--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000", "--dump-dom", new Uri(file).AbsoluteUri], TimeSpan.FromSeconds(90));
            Assert.True(code == 0, $"chromium exited {code}: {errors}");
            var status = StatusPattern().Match(dom);
            Assert.True(status.Success, "the page's status element is missing from the DOM: the inline script did not run");
            Assert.True(status.Groups["status"].Value == "ok", $"render status '{status.Groups["status"].Value}': {status.Groups["text"].Value}");
            var expected = ChartPattern().Count(html);
            Assert.Equal(expected.ToString(System.Globalization.CultureInfo.InvariantCulture), status.Groups["charts"].Value);

            // Chromium logs every console message and uncaught exception of the page as CONSOLE lines.
            var console = errors.Split('\n').Where(l => l.Contains(":CONSOLE", StringComparison.Ordinal) || l.Contains("Uncaught", StringComparison.Ordinal)).ToList();
            Assert.True(console.Count == 0, "console output: " + string.Join("\n", console));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [GeneratedRegex("<div id=\"render-status\" data-status=\"(?<status>[a-z]+)\" data-charts=\"(?<charts>[0-9]+)\">(?<text>[^<]*)<")]
    private static partial Regex StatusPattern();

    [GeneratedRegex("<svg class=\"chart")]
    private static partial Regex ChartPattern();
}
