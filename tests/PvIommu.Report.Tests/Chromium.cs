using System.Diagnostics;

namespace PvIommu.Report.Tests;

/// <summary>
/// Headless Chromium from Debian, installed with apt-get when missing (CI runs as root with
/// Debian's registry). <see cref="Path"/> is null when it cannot be had; <see cref="Why"/> says why.
/// </summary>
internal static class Chromium
{
    private const string Binary = "/usr/bin/chromium";
    private static readonly Lazy<(string? Path, string Why)> _found = new(Locate);

    public static string? Path => _found.Value.Path;

    public static string Why => _found.Value.Why;

    /// <summary>Runs Chromium headless on <paramref name="arguments"/>; returns exit code, stdout and stderr.</summary>
    public static (int Code, string Output, string Errors) Run(IEnumerable<string> arguments, TimeSpan timeout)
    {
        var profile = Directory.CreateTempSubdirectory("pviommu-chromium-");
        try
        {
            var start = new ProcessStartInfo(Path!) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in (string[])["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", $"--user-data-dir={profile.FullName}"])
            {
                start.ArgumentList.Add(a);
            }

            foreach (var a in arguments)
            {
                start.ArgumentList.Add(a);
            }

            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(timeout))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"chromium did not finish in {timeout.TotalSeconds} s");
            }

            return (process.ExitCode, output.Result, errors.Result);
        }
        finally
        {
            try
            {
                profile.Delete(recursive: true);
            }
            catch (IOException)
            {
                // A crash reporter may still hold a file; the temp folder is cleaned by the OS.
            }
        }
    }

    private static (string?, string) Locate()
    {
        if (File.Exists(Binary))
        {
            return (Binary, "found");
        }

        if (!OperatingSystem.IsLinux() || !File.Exists("/usr/bin/apt-get"))
        {
            return (null, "chromium is not installed and this is not a Debian-like system with apt-get");
        }

        if (Environment.UserName != "root")
        {
            return (null, $"chromium is not installed and the tests run as '{Environment.UserName}', not root, so apt-get cannot install it");
        }

        var log = Shell("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium", TimeSpan.FromMinutes(15));
        return File.Exists(Binary) ? (Binary, "installed with apt-get") : (null, "apt-get could not install chromium: " + log);
    }

    private static string Shell(string command, TimeSpan timeout)
    {
        var start = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(command);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            return "timed out";
        }

        var text = (output.Result + errors.Result).Trim();
        return text.Length > 400 ? text[^400..] : text;
    }
}
