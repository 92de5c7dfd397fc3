namespace PvIommu.Simulation.Scenarios;

/// <summary>One problem with a scenario file: where it is and what was expected there.</summary>
/// <param name="File">The file name as the user gave it (or <c>&lt;built-in&gt;</c>).</param>
/// <param name="Line">1-based line; 0 when the problem is the file as a whole.</param>
/// <param name="Column">1-based column; 0 when unknown.</param>
/// <param name="Message">What is wrong and what was expected, in one sentence.</param>
public sealed record ScenarioError(string File, int Line, int Column, string Message)
{
    /// <summary>The error as one line: <c>file:line:column: message</c>.</summary>
    public override string ToString() =>
        Line == 0 ? $"{File}: {Message}" : Column == 0 ? $"{File}:{Line}: {Message}" : $"{File}:{Line}:{Column}: {Message}";
}

/// <summary>Thrown inside the binder to stop at the first problem; never escapes <see cref="ScenarioParser"/>.</summary>
internal sealed class ScenarioBindException(ScenarioError error) : Exception(error.ToString())
{
    public ScenarioError Error { get; } = error;
}
