using System.CommandLine;
using System.Runtime.InteropServices;
using PvIommu.Hypervisor;
using PvIommu.Hypervisor.Toolstack;
using PvIommu.Server;
using PvIommu.Simulation;

namespace PvIommu.Cli.Commands;

/// <summary>
/// <c>pviommu serve</c>: the default host, or the host of a scenario file (<c>--host</c>), over
/// the wire protocol (shared/docs/wire-protocol.md), on a Unix socket or loopback TCP, until
/// SIGINT or SIGTERM (docs/server.md).
/// </summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var socket = new Option<string?>("--socket")
        {
            Description = $"Listen on this Unix socket path (default {ServerEndpoint.DefaultSocketPath}).",
            HelpName = "PATH",
        };
        var tcp = new Option<string?>("--tcp")
        {
            Description = "Listen on TCP instead, at a loopback address: 127.0.0.1:PORT, [::1]:PORT or localhost:PORT (PORT 0: any free port).",
            HelpName = "HOST:PORT",
        };
        var hostFile = new Option<string?>("--host")
        {
            Description = "Serve the host of this scenario file (TOML, see examples/ and docs/simulation.md) instead of the default host: its machine and domains, not its workloads.",
            HelpName = "FILE",
        };
        var trace = new Option<bool>("--trace") { Description = "Log every call (connection, domain, sub-op, result, time) to standard error." };
        var maxSessions = new Option<int>("--max-sessions")
        {
            Description = $"Sessions served at once; one more opening gets -EBUSY (default {ServerLimits.DefaultMaxSessions}).",
            DefaultValueFactory = _ => ServerLimits.DefaultMaxSessions,
        };
        var busyPoll = new Option<int>("--busy-poll")
        {
            Description = $"Microseconds a connection polls for the next request before it sleeps; 0: sleep at once (default {ServerLimits.DefaultBusyPoll.TotalMicroseconds:0}).",
            HelpName = "MICROSECONDS",
            DefaultValueFactory = _ => (int)ServerLimits.DefaultBusyPoll.TotalMicroseconds,
        };
        var command = new Command("serve", "Serve the default host (or a scenario's, with --host) over the wire protocol: C drivers and other clients act as its vCPUs and devices.")
        {
            socket, tcp, hostFile, trace, maxSessions, busyPoll,
        };
        command.SetAction(parse => Run(
            parse.GetValue(socket), parse.GetValue(tcp), parse.GetValue(hostFile), parse.GetValue(trace), parse.GetValue(maxSessions), parse.GetValue(busyPoll)));
        return command;
    }

    /// <summary>Parses <c>--socket</c>/<c>--tcp</c> into an endpoint; null (with a message printed) when they are wrong.</summary>
    internal static ServerEndpoint? Endpoint(string command, string? socket, string? tcp)
    {
        if (socket is not null && tcp is not null)
        {
            Console.Error.WriteLine($"pviommu {command}: give --socket or --tcp, not both");
            return null;
        }

        if (tcp is null)
        {
            return new ServerEndpoint.UnixSocket(socket ?? ServerEndpoint.DefaultSocketPath);
        }

        if (!ServerEndpoint.TryParseTcp(tcp, out var endpoint, out var error))
        {
            Console.Error.WriteLine($"pviommu {command}: --tcp: {error}");
            return null;
        }

        return endpoint;
    }

    private static int Run(string? socket, string? tcp, string? hostFile, bool trace, int maxSessions, int busyPoll)
    {
        if (Endpoint("serve", socket, tcp) is not { } endpoint)
        {
            return ExitCodes.Usage;
        }

        if (maxSessions < 1)
        {
            Console.Error.WriteLine($"pviommu serve: --max-sessions must be at least 1, got {maxSessions}");
            return ExitCodes.Usage;
        }

        if (busyPoll < 0)
        {
            Console.Error.WriteLine($"pviommu serve: --busy-poll must be 0 or more microseconds, got {busyPoll}");
            return ExitCodes.Usage;
        }

        if (Boot(hostFile) is not { } booted)
        {
            return ExitCodes.Usage;
        }

        var (host, name) = booted;
        using var stop = new CancellationTokenSource();
        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Cancel();
        }

        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        var server = new PvIommuServer(host, new ServerOptions
        {
            Endpoint = endpoint,
            MaxSessions = maxSessions,
            BusyPoll = TimeSpan.FromMicroseconds(busyPoll),
            Trace = trace ? Console.Error : null,
        });
        try
        {
            server.Start();
        }
        catch (ServerStartException e)
        {
            Console.Error.WriteLine($"pviommu serve: {e.Message}");
            return ExitCodes.Failed;
        }

        Console.Error.WriteLine($"pviommu serve: {name}: {Describe(host)}");
        Console.Out.WriteLine($"pviommu serve: listening on {server.Endpoint}");
        Console.Out.Flush();
        stop.Token.WaitHandle.WaitOne();
        server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Console.Error.WriteLine("pviommu serve: stopped");
        return ExitCodes.Ok;
    }

    /// <summary>
    /// The host to serve and how to name it: the default host, or the host of the scenario
    /// file; null (with one line on standard error: file, line, what is wrong) when the file is bad.
    /// </summary>
    private static (Host Host, string Name)? Boot(string? hostFile)
    {
        if (hostFile is null)
        {
            return (DefaultHost.Create(), "default host");
        }

        var outcome = ScenarioHost.BootFile(hostFile);
        if (outcome.Error is { } error)
        {
            Console.Error.WriteLine($"pviommu serve: --host: {error}");
            return null;
        }

        return (outcome.Host!, $"host of {hostFile} (scenario '{outcome.Scenario!.Name}')");
    }

    private static string Describe(Host host) =>
        string.Join("; ", host.Domains.Select(d =>
            $"d{d.Id} {d.Name} ({d.Kind.ToString().ToLowerInvariant()}{(d.IsHardwareDomain ? ", hardware domain" : string.Empty)}, "
            + $"{d.P2m.RamFrames / 256} MiB, devices {string.Join(" ", d.Devices)})"));
}
