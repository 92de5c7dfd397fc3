namespace PvIommu.Cli.Tests.Support;

/// <summary>Runs <c>pviommu</c> in this process with standard output and error captured.</summary>
internal static class CliConsole
{
    /// <summary>The exit code and what was written to standard output and standard error.</summary>
    public static (int Exit, string Out, string Error) Run(params string[] args)
    {
        var (originalOut, originalError) = (Console.Out, Console.Error);
        using var output = new StringWriter();
        using var error = new StringWriter();
        Console.SetOut(output);
        Console.SetError(error);
        try
        {
            var exit = PviommuCommand.Run(args);
            return (exit, output.ToString(), error.ToString());
        }
        finally
        {
            Console.SetOut(originalOut);
            Console.SetError(originalError);
        }
    }
}

/// <summary>Tests that redirect <see cref="Console.Out"/> or <see cref="Console.Error"/> run alone: the console is process-wide.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConsoleOutCollection
{
    public const string Name = "Console redirection";
}
