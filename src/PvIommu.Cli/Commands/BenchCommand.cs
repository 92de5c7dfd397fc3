using System.CommandLine;

namespace PvIommu.Cli.Commands;

/// <summary><c>pviommu bench</c>: placeholder until the workloads land.</summary>
internal static class BenchCommand
{
    public static Command Create() => new("bench", "Run the benchmark workloads.");
}
