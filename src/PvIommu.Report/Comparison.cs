using PvIommu.Simulation.Results;

namespace PvIommu.Report;

/// <summary>One scenario run under several values of one key (--compare KEY=V1,V2).</summary>
/// <param name="Key">The scenario key varied ("driver.policy").</param>
/// <param name="Values">Its values, in the order asked.</param>
/// <param name="Results">One result per value.</param>
public sealed record Comparison(string Key, IReadOnlyList<string> Values, IReadOnlyList<SimulationResult> Results)
{
    /// <summary>The figures compared side by side: a name and one value per run.</summary>
    public IReadOnlyList<ComparisonRow> Rows => ComparisonRows.Build(this);
}

/// <summary>A figure of a comparison.</summary>
/// <param name="Figure">What it is.</param>
/// <param name="Values">One value per run.</param>
public sealed record ComparisonRow(string Figure, IReadOnlyList<double> Values);
