using System.CommandLine;
using PvIommu.Cli.Bench;

namespace PvIommu.Cli.Commands;

/// <summary><c>pviommu bench</c>: the workloads of the performance contract, as JSON lines.</summary>
internal static class BenchCommand
{
    /// <summary>Every workload, in the order a bare <c>bench</c> runs them.</summary>
    internal static IReadOnlyList<IWorkload> Workloads { get; } = [new PtWorkload(), new HypercallWorkload(), new TranslateWorkload(), new SocketWorkload(), new ReplayNicWorkload()];

    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "One JSON object per workload, one per line." };
        var workload = new Option<string[]>("--workload")
        {
            Description = "Workload(s) to run: " + string.Join(", ", Workloads.Select(w => w.Name)) + ". Default: all.",
            AllowMultipleArgumentsPerToken = true,
        };
        var scale = new Option<double>("--scale")
        {
            Description = "Shrink the workloads (0 < scale <= 1) for a quick smoke run.",
            DefaultValueFactory = _ => 1.0,
        };
        var command = new Command("bench", "Run the benchmark workloads of the performance contract.") { json, workload, scale };
        command.SetAction(parse => Run(parse.GetValue(workload) ?? [], parse.GetValue(json), parse.GetValue(scale)));
        return command;
    }

    private static int Run(string[] names, bool json, double scale)
    {
        if (scale is <= 0 or > 1)
        {
            Console.Error.WriteLine($"pviommu bench: --scale must be in (0, 1], got {scale}");
            return ExitCodes.Usage;
        }

        var unknown = names.Where(n => Workloads.All(w => w.Name != n)).ToList();
        if (unknown.Count > 0)
        {
            Console.Error.WriteLine($"pviommu bench: unknown workload '{unknown[0]}'; known: {string.Join(", ", Workloads.Select(w => w.Name))}");
            return ExitCodes.Usage;
        }

        foreach (var w in Workloads.Where(w => names.Length == 0 || names.Contains(w.Name)))
        {
            var result = w.Run(scale);
            Console.WriteLine(json ? result.ToJsonLine() : Describe(result));
        }

        return ExitCodes.Ok;
    }

    private static string Describe(BenchResult result) =>
        result.Workload + ":" + Environment.NewLine
        + string.Join(Environment.NewLine, result.Fields.Skip(2).Select(f => $"  {f.Key,-28} {f.Value}"));
}
