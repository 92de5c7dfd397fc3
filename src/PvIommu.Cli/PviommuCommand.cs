using System.CommandLine;
using PvIommu.Cli.Commands;

namespace PvIommu.Cli;

/// <summary>The <c>pviommu</c> command: one sub-command per job.</summary>
internal static class PviommuCommand
{
    /// <summary>Builds the command tree.</summary>
    public static RootCommand Build()
    {
        var root = new RootCommand("pviommu: Xen's PV-IOMMU (iommu_op) on a simulated machine.");
        root.Subcommands.Add(AbiCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        return root;
    }

    /// <summary>Parses and runs; returns the process exit code.</summary>
    public static int Run(string[] args) => Build().Parse(args).Invoke();
}
