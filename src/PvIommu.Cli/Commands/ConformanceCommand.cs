using System.CommandLine;
using PvIommu.Hypervisor.Toolstack;
using PvIommu.Server.Conformance;

namespace PvIommu.Cli.Commands;

/// <summary>
/// <c>pviommu conformance</c>: the spec's and the wire protocol's rules, checked as a client;
/// against a server (<c>--socket</c>, <c>--tcp</c>) or, without either, against a fresh default
/// host in this process. One line per rule; exit 1 when any rule fails.
/// </summary>
internal static class ConformanceCommand
{
    public static Command Create()
    {
        var socket = new Option<string?>("--socket") { Description = "Check the server on this Unix socket.", HelpName = "PATH" };
        var tcp = new Option<string?>("--tcp") { Description = "Check the server at this loopback TCP address.", HelpName = "HOST:PORT" };
        var command = new Command("conformance", "Check a PV-IOMMU implementation against the rules of the spec and the wire protocol, as a client.") { socket, tcp };
        command.SetAction(parse => Run(parse.GetValue(socket), parse.GetValue(tcp)));
        return command;
    }

    private static int Run(string? socket, string? tcp)
    {
        IConformanceTarget target;
        InProcessTarget? inProcess = null;
        if (socket is null && tcp is null)
        {
            target = inProcess = new InProcessTarget(DefaultHost.Create());
        }
        else if (ServeCommand.Endpoint("conformance", socket, tcp) is { } endpoint)
        {
            target = new SocketTarget(endpoint);
            if (!Reachable(target))
            {
                return ExitCodes.Usage;
            }
        }
        else
        {
            return ExitCodes.Usage;
        }

        try
        {
            int passed = 0, failed = 0;
            foreach (var outcome in ConformanceSuite.Run(target))
            {
                Console.Out.WriteLine(outcome.ToString());
                _ = outcome.Passed ? passed++ : failed++;
            }

            Console.Error.WriteLine($"pviommu conformance: {target.Name}: {passed + failed} rules, {passed} passed, {failed} failed");
            return failed == 0 ? ExitCodes.Ok : ExitCodes.Failed;
        }
        finally
        {
            inProcess?.Dispose();
        }
    }

    private static bool Reachable(IConformanceTarget target)
    {
        try
        {
            target.Open().Dispose();
            return true;
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"pviommu conformance: {e.Message}");
            return false;
        }
    }
}
