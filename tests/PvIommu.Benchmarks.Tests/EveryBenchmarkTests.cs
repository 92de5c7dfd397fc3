namespace PvIommu.Benchmarks.Tests;

/// <summary>perf-contract.md: every benchmark also runs once, shortened, inside the test suite, so none can rot.</summary>
public class EveryBenchmarkTests
{
    public static TheoryData<string> Benchmarks() => [.. OneShot.All.Keys.Order(StringComparer.Ordinal)];

    [Theory]
    [MemberData(nameof(Benchmarks))]
    public void Benchmark_RunOnce_Completes(string name) => OneShot.Run(name);

    [Fact]
    public void Discovery_FindsThePageTableBenchmarks()
    {
        // Guards against a vacuous pass: the theory above runs nothing if discovery breaks.
        Assert.Contains("PageTableBenchmarks.Map", OneShot.All.Keys);
        Assert.Contains("PageTableBenchmarks.Lookup", OneShot.All.Keys);
        Assert.Contains("PageTableBenchmarks.Unmap", OneShot.All.Keys);
    }
}
