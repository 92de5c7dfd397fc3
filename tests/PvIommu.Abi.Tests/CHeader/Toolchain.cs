using System.ComponentModel;
using System.Diagnostics;

namespace PvIommu.Abi.Tests.CHeader;

/// <summary>Runs the system C compiler and the programs it builds.</summary>
internal static class Toolchain
{
    private static readonly TimeSpan _timeout = TimeSpan.FromSeconds(60);

    public sealed record Result(int ExitCode, string StdOut, string StdErr);

    /// <summary>Whether <paramref name="tool"/> can be started from PATH.</summary>
    public static bool Exists(string tool)
    {
        try
        {
            Run(tool, ["--version"], Path.GetTempPath());
            return true;
        }
        catch (Win32Exception)
        {
            return false;
        }
    }

    /// <summary>Runs <paramref name="file"/> and waits for it; throws Win32Exception when it cannot start.</summary>
    public static Result Run(string file, IEnumerable<string> arguments, string workingDirectory)
    {
        var info = new ProcessStartInfo(file)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{file} did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(_timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} ran longer than {_timeout}.");
        }

        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>A fresh temporary folder, deleted on dispose.</summary>
    public sealed class TempDir : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("pviommu-abi-").FullName;

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
