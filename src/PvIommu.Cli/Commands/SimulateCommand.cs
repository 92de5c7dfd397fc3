using System.CommandLine;
using PvIommu.Report;
using PvIommu.Simulation;
using PvIommu.Simulation.Results;
using PvIommu.Simulation.Scenarios;
using Spectre.Console;

namespace PvIommu.Cli.Commands;

/// <summary>
/// <c>pviommu simulate [SCENARIO] [--seed N] [--json] [--report [FILE]] [--compare KEY=V1,V2] [--set KEY=V]</c>:
/// runs a scenario (the built-in default when none is named) and prints a summary, JSON, an
/// HTML report, or a side-by-side comparison of two or more values of one key.
/// </summary>
internal static class SimulateCommand
{
    /// <summary>The report's file name when --report is given without one.</summary>
    public const string DefaultReport = "pviommu-report.html";

    /// <summary>Builds the <c>simulate</c> command.</summary>
    public static Command Create()
    {
        var scenario = new Argument<string?>("SCENARIO")
        {
            Description = "A scenario file (TOML, see examples/ and docs/simulation.md). Default: the built-in scenario.",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var seed = new Option<ulong?>("--seed") { HelpName = "N", Description = "Seed of every random choice (overrides the scenario's)." };
        var json = new Option<bool>("--json") { Description = "Print the results as one JSON document (the same seed gives the same bytes)." };
        var report = new Option<string?>("--report")
        {
            HelpName = "FILE",
            Description = $"Write a self-contained HTML report (default file: {DefaultReport}).",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var compare = new Option<string?>("--compare")
        {
            HelpName = "KEY=V1,V2",
            Description = "Run under each value of one scenario key and show the differences, e.g. driver.policy=strict,deferred, driver.batch=16,256, or host.superpages=false,true for 4 KiB leaves vs superpages (spec §3: the hypervisor writes the largest leaf that fits, so driver.superpages changes only the pgsize of the calls, not the tables).",
        };
        var set = new Option<string[]>("--set")
        {
            HelpName = "KEY=VALUE",
            Description = "Override a scenario key, e.g. --set duration=20ms --set driver.policy=deferred (repeatable).",
            AllowMultipleArgumentsPerToken = false,
        };
        var command = new Command("simulate", "Run a simulated host: domains, devices and DMA workloads through PV-IOMMU, with a cost model and a report.")
        {
            scenario, seed, json, report, compare, set,
        };
        command.SetAction(parse => Run(new Request(
            parse.GetValue(scenario),
            parse.GetValue(seed),
            parse.GetValue(json),
            parse.GetResult(report) is null ? null : parse.GetValue(report) ?? DefaultReport,
            parse.GetValue(compare),
            parse.GetValue(set) ?? [])));
        return command;
    }

    /// <summary>What the command line asked for.</summary>
    internal sealed record Request(string? Scenario, ulong? Seed, bool Json, string? Report, string? Compare, string[] Set);

    /// <summary>Runs a request; returns the exit code (README: 0 ok, 1 a check failed, 2 bad input).</summary>
    internal static int Run(Request request, TextWriter? output = null, TextWriter? error = null)
    {
        output ??= Console.Out;
        error ??= Console.Error;
        var overrides = request.Set.ToList();
        if (request.Seed is { } s)
        {
            overrides.Add($"seed={s}");
        }

        string? key = null;
        string[] values = [string.Empty];
        if (request.Compare is { } compare)
        {
            var equals = compare.IndexOf('=', StringComparison.Ordinal);
            values = equals <= 0 ? [] : compare[(equals + 1)..].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            if (equals <= 0 || values.Length < 2)
            {
                error.WriteLine($"pviommu simulate: --compare expects KEY=V1,V2 (two values or more), such as driver.policy=strict,deferred; got '{compare}'");
                return ExitCodes.Usage;
            }

            key = compare[..equals].Trim();
        }

        if (Parse(request.Scenario, overrides, key, values, error) is not { } scenarios)
        {
            return ExitCodes.Usage;
        }

        var results = new List<SimulationResult>();
        var progress = !request.Json && !Console.IsOutputRedirected && ReferenceEquals(output, Console.Out);
        foreach (var (value, scenario) in values.Zip(scenarios))
        {
            var label = key is null ? scenario.Name : $"{scenario.Name} ({key}={value})";
            var outcome = progress ? WithProgress(scenario, label) : Simulator.Run(scenario);
            if (outcome.Error is { } failed)
            {
                error.WriteLine($"pviommu simulate: {failed}");
                return ExitCodes.Usage;
            }

            results.Add(outcome.Result!);
        }

        var comparison = key is null ? null : new Comparison(key, values, results);
        output.Write(request.Json
            ? comparison is null ? JsonReport.Render(results[0]) : JsonReport.Render(comparison)
            : comparison is null ? TextSummary.Render(results[0]) : TextSummary.Render(comparison));
        if (request.Report is { } file)
        {
            try
            {
                File.WriteAllText(file, HtmlReport.Render(results[0], comparison));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                error.WriteLine($"pviommu simulate: cannot write the report '{file}': {e.Message}");
                return ExitCodes.Usage;
            }

            if (!request.Json)
            {
                output.WriteLine($"\nreport: {Path.GetFullPath(file)}");
            }
        }

        return results.All(r => r.Checks.All(c => c.Passed)) ? ExitCodes.Ok : ExitCodes.Failed;
    }

    /// <summary>
    /// The scenario once per compared value (once without --compare), every one checked before
    /// the first run so that a bad last value costs no run; null after printing the first error.
    /// </summary>
    private static List<Scenario>? Parse(string? file, List<string> overrides, string? key, string[] values, TextWriter error)
    {
        var scenarios = new List<Scenario>();
        foreach (var value in values)
        {
            var assignments = key is null ? overrides : [.. overrides, $"{key}={value}"];
            var parsed = file is null
                ? ScenarioParser.Parse(ScenarioParser.DefaultText, ScenarioParser.BuiltInName, assignments)
                : ScenarioParser.ParseFile(file, assignments);
            if (parsed.Error is { } bad)
            {
                error.WriteLine($"pviommu simulate: {bad}");
                return null;
            }

            scenarios.Add(parsed.Scenario!);
        }

        return scenarios;
    }

    private static SimulationOutcome WithProgress(Scenario scenario, string label)
    {
        SimulationOutcome? outcome = null;
        AnsiConsole.Progress()
            .AutoClear(true)
            .HideCompleted(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(label), maxValue: 1.0);
                outcome = Simulator.Run(scenario, new Progress(task));
                task.Value = 1.0;
            });
        return outcome!;
    }

    /// <summary>Moves the bar synchronously (System.Progress would post to a thread pool).</summary>
    private sealed class Progress(ProgressTask task) : IProgress<double>
    {
        public void Report(double value) => task.Value = value;
    }
}
