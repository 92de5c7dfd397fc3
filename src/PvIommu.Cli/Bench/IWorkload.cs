namespace PvIommu.Cli.Bench;

/// <summary>A benchmark workload of <c>docs/perf-contract.md</c> (in shared/).</summary>
internal interface IWorkload
{
    /// <summary>The name <c>--workload</c> selects it by.</summary>
    string Name { get; }

    /// <summary>One line on what it measures.</summary>
    string Description { get; }

    /// <summary>Runs it. <paramref name="scale"/> below 1 shrinks it (the test suite's smoke run).</summary>
    BenchResult Run(double scale);
}
