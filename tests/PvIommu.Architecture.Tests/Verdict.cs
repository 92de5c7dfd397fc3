namespace PvIommu.Architecture.Tests;

/// <summary>Fails with every problem spelled out in full (Assert.Empty truncates them).</summary>
internal static class Verdict
{
    public static void AssertNone(IReadOnlyCollection<string> problems) =>
        Assert.True(problems.Count == 0, "Architecture broken:" + Environment.NewLine + string.Join(Environment.NewLine, problems));
}
