using PvIommu.Hypervisor;
using PvIommu.Hypervisor.Toolstack;
using PvIommu.Server.Conformance;
using PvIommu.Server.Tests.Support;
using Xunit.Abstractions;

namespace PvIommu.Server.Tests.Conformance;

public class ConformanceSuiteTests(ITestOutputHelper output)
{
    [Fact]
    public void Suite_InProcessAgainstFreshDefaultHost_EveryRulePasses()
    {
        using var target = new InProcessTarget(DefaultHost.Create(new HostOptions { PhysicalCpus = 2 }));
        AssertAllPass(target);
        Assert.Empty(target.Host.Audit());
    }

    [Fact]
    public async Task Suite_OverAUnixSocket_TwiceOnTheSameServer_EveryRulePasses()
    {
        await using var server = SocketServer.Start(host: DefaultHost.Create(new HostOptions { PhysicalCpus = 2 }));
        var target = new SocketTarget(server.Endpoint);
        AssertAllPass(target);
        AssertAllPass(target);
        server.AssertNoLeaks();
    }

    [Fact]
    public void Rules_IdsAreUniqueAndEveryRuleSaysWhatItExpects()
    {
        Assert.Equal(ConformanceSuite.Rules.Count, ConformanceSuite.Rules.Select(r => r.Id).Distinct().Count());
        Assert.All(ConformanceSuite.Rules, r => Assert.Matches(@"^(wire|spec\d(\.\d)?|dma|host)\.[a-z0-9.-]+$", r.Id));
        Assert.Equal("host.audit", ConformanceSuite.Rules[^1].Id);
    }

    [Fact]
    public void Outcome_PrintsOneLineInTheReportFormat()
    {
        var rule = new ConformanceRule("spec1.noop", "noop returns 0", _ => "0");
        Assert.Equal("PASS spec1.noop noop returns 0 (0)", new RuleOutcome(rule, true, "0").ToString());
        Assert.Equal("FAIL spec1.noop noop returns 0 (saw -EPERM)", new RuleOutcome(rule, false, "saw -EPERM").ToString());
    }

    private void AssertAllPass(IConformanceTarget target)
    {
        var outcomes = ConformanceSuite.Run(target).ToList();
        foreach (var outcome in outcomes)
        {
            output.WriteLine(outcome.ToString());
        }

        Assert.Equal(ConformanceSuite.Rules.Count, outcomes.Count);
        Assert.All(outcomes, o => Assert.True(o.Passed, o.ToString()));
    }
}
