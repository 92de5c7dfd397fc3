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
        root.Subcommands.Add(SimulateCommand.Create());
        root.Subcommands.Add(ServeCommand.Create());
        root.Subcommands.Add(ConformanceCommand.Create());
        return root;
    }

    /// <summary>
    /// Parses and runs; returns the process exit code (README): 2 for a bad command line, one
    /// readable line per problem and never a stack trace.
    /// </summary>
    public static int Run(string[] args)
    {
        var parse = Build().Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors)
            {
                Console.Error.WriteLine($"pviommu: {error.Message}");
            }

            Console.Error.WriteLine("Run 'pviommu --help' for the commands and their options.");
            return ExitCodes.Usage;
        }

        try
        {
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A bug of this project, not of the user's input: one line, no stack trace.
            Console.Error.WriteLine($"pviommu: internal error: {e.GetType().Name}: {e.Message}");
            return ExitCodes.Failed;
        }
    }
}
