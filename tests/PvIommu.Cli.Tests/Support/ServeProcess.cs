using System.Diagnostics;
using System.Text;
using PvIommu.Server;
using PvIommu.Server.Client;
using PvIommu.Tests.Shared;

namespace PvIommu.Cli.Tests.Support;

/// <summary>
/// <c>pviommu serve --socket DIR/s</c> as a child process (the CLI built beside these tests),
/// in a fresh temporary folder, run from the repository root. <see cref="Dispose"/> kills it if
/// it still runs and removes the folder, so a failing test leaves nothing behind.
/// </summary>
internal sealed class ServeProcess : IDisposable
{
    /// <summary>How long a child may take to start listening, on a loaded machine.</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    /// <summary>How long it may take to stop after SIGTERM.</summary>
    public static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    private readonly Process _process;
    private readonly string _folder;
    private readonly Lock _lock = new();
    private readonly StringBuilder _out = new();
    private readonly StringBuilder _error = new();
    private readonly TaskCompletionSource<string> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ServeProcess(string folder, IEnumerable<string> args)
    {
        _folder = folder;
        SocketPath = Path.Combine(folder, "s");
        var start = new ProcessStartInfo(DotnetHost())
        {
            WorkingDirectory = RepositoryRoot.Folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in (string[])[CliDll, "serve", "--socket", SocketPath, .. args])
        {
            start.ArgumentList.Add(arg);
        }

        _process = new Process { StartInfo = start, EnableRaisingEvents = true };
        _process.OutputDataReceived += (_, e) => Line(_out, e.Data, listening: true);
        _process.ErrorDataReceived += (_, e) => Line(_error, e.Data, listening: false);
        _process.Exited += (_, _) => _listening.TrySetException(new InvalidOperationException("pviommu serve exited before it listened"));
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>The built CLI: the test project references the Cli project, which copies it here.</summary>
    public static string CliDll => typeof(PviommuCommand).Assembly.Location;

    /// <summary>The Unix socket it listens on.</summary>
    public string SocketPath { get; }

    /// <summary>What it wrote to standard output so far.</summary>
    public string Out
    {
        get
        {
            lock (_lock)
            {
                return _out.ToString();
            }
        }
    }

    /// <summary>What it wrote to standard error so far.</summary>
    public string Error
    {
        get
        {
            lock (_lock)
            {
                return _error.ToString();
            }
        }
    }

    /// <summary>Starts <c>pviommu serve --socket DIR/s ARGS</c> and waits for its "listening on" line.</summary>
    /// <returns>The running server.</returns>
    public static ServeProcess Start(params string[] args)
    {
        var server = new ServeProcess(Directory.CreateTempSubdirectory("pviommu-cli-").FullName, args);
        try
        {
            if (!server._listening.Task.Wait(StartTimeout))
            {
                throw new TimeoutException($"pviommu serve did not listen within {StartTimeout.TotalSeconds} s; stderr: {server.Error}");
            }

            return server;
        }
        catch (AggregateException e)
        {
            server.Dispose();
            throw new InvalidOperationException($"pviommu serve did not start; stderr: {server.Error}", e);
        }
        catch (TimeoutException)
        {
            server.Dispose();
            throw;
        }
    }

    /// <summary>A session as a vCPU of <paramref name="domid"/>.</summary>
    public WireClient Connect(ushort domid) =>
        WireClient.Connect(SocketClientTransport.Connect(new ServerEndpoint.UnixSocket(SocketPath)), domid);

    /// <summary>Sends SIGTERM, as a service manager or Ctrl+C in a script would.</summary>
    public void Terminate()
    {
        using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) }, UseShellExecute = false })!;
        Assert.True(kill.WaitForExit(StopTimeout), "kill -TERM did not finish");
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>Waits for the process to end (and its output to be read); its exit code.</summary>
    /// <exception cref="TimeoutException">it still runs after <see cref="StopTimeout"/>.</exception>
    public int WaitForExit()
    {
        if (!_process.WaitForExit(StopTimeout))
        {
            throw new TimeoutException($"pviommu serve still runs {StopTimeout.TotalSeconds} s after SIGTERM; stderr: {Error}");
        }

        _process.WaitForExit();
        return _process.ExitCode;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(StopTimeout);
            }
        }
        catch (InvalidOperationException)
        {
            // It ended between the check and the kill.
        }
        finally
        {
            _process.Dispose();
            Directory.Delete(_folder, recursive: true);
        }
    }

    /// <summary>The <c>dotnet</c> that runs the tests (set by <c>dotnet test</c>), else the one on the PATH.</summary>
    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    private void Line(StringBuilder into, string? line, bool listening)
    {
        if (line is null)
        {
            return;
        }

        lock (_lock)
        {
            into.AppendLine(line);
        }

        if (listening && line.Contains("listening on", StringComparison.Ordinal))
        {
            _listening.TrySetResult(line);
        }
    }
}
