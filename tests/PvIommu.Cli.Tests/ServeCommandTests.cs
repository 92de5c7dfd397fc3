using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Cli.Tests.Support;
using PvIommu.Server.Conformance;

namespace PvIommu.Cli.Tests;

/// <summary>
/// <c>pviommu serve</c> (docs/server.md): a child process that listens, answers clients, and
/// stops cleanly on SIGTERM; <c>--host</c> serves a scenario's host; bad input is exit 2 with
/// one line and nothing listening (those run in this process: serve returns before it binds).
/// </summary>
[Collection(ConsoleOutCollection.Name)]
public sealed class ServeCommandTests
{
    [Fact]
    public void Serve_DefaultHost_AnswersClients_AndStopsCleanlyOnSigterm()
    {
        using var server = ServeProcess.Start();

        Assert.Equal($"pviommu serve: listening on unix:{server.SocketPath}", server.Out.Trim());
        Assert.True(File.Exists(server.SocketPath));
        using (var dom0 = server.Connect(0))
        {
            Assert.Equal(0, dom0.IommuOp((uint)SubOp.Noop, []));
            var caps = new byte[Capabilities.Size];
            Assert.Equal(0, dom0.IommuOp((uint)SubOp.QueryCapabilities, caps));
            Assert.Equal(0u, Capabilities.Read(caps).MaxCtxNo);
            var host = HostView.Parse(dom0.HostInfo().Json);
            Assert.Equal(new ushort[] { 0, 1 }, host.Domains.Select(d => d.Domid));
        }

        server.Terminate();

        Assert.Equal(0, server.WaitForExit());
        Assert.False(File.Exists(server.SocketPath), "the socket file is left behind");
        Assert.Contains("pviommu serve: default host: d0 Domain-0", server.Error, StringComparison.Ordinal);
        Assert.EndsWith("pviommu serve: stopped", server.Error.Trim(), StringComparison.Ordinal);
    }

    [Fact]
    public void Serve_HostFile_ServesThatHostsDomainsAndDevices()
    {
        using var server = ServeProcess.Start("--host", "examples/rogue.toml");

        using var victim = server.Connect(1);
        var host = HostView.Parse(victim.HostInfo().Json);
        Assert.Equal(new[] { "Domain-0", "victim" }, host.Domains.Select(d => d.Name));
        Assert.Equal(new[] { "0000:00:06.0" }, host.Domain(1)!.Devices);
        Assert.Equal((ushort)1, host.Device("0000:00:06.0")!.Owner);
        Assert.Equal(new[] { "0000:00:05.0", "0000:00:06.0" }, host.Devices.Select(d => d.Sbdf));

        // The victim's device reaches its RAM at dfn = gfn through context 0, as the scenario
        // assigned it; dom0's device is not the victim's to drive.
        var written = "written by the victim's vCPU"u8.ToArray();
        Assert.Equal(0, victim.WriteMemory(0x5000, written));
        var read = new byte[written.Length];
        Assert.Equal(0, victim.Dma(PciAddress.Parse("0000:00:06.0"), deviceWrites: false, 0x5000, read).Ret);
        Assert.Equal(written, read);
        Assert.Equal(XenErrno.EPERM.ToReturnValue(), victim.Dma(PciAddress.Parse("0000:00:05.0"), false, 0x5000, read).Ret);
        victim.Dispose();
        server.Terminate();
        Assert.Equal(0, server.WaitForExit());
        Assert.Contains("host of examples/rogue.toml (scenario 'rogue'): d0 Domain-0", server.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Serve_BadHostFile_OneLineWithFileAndLine_Exit2_NothingListens()
    {
        var folder = Directory.CreateTempSubdirectory("pviommu-cli-").FullName;
        try
        {
            var file = Path.Combine(folder, "bad.toml");
            File.WriteAllText(file, "name = \"bad\"\n\n[host]\nmemory = \"a lot\"\n");
            var socket = Path.Combine(folder, "s");

            var (exit, output, error) = CliConsole.Run("serve", "--socket", socket, "--host", file);

            Assert.Equal(ExitCodes.Usage, exit);
            var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith($"pviommu serve: --host: {file}:4:", line, StringComparison.Ordinal);
            Assert.Contains("memory", line, StringComparison.Ordinal);
            Assert.Empty(output);
            Assert.False(File.Exists(socket), "something listens");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Serve_MissingHostFile_SaysItCannotBeRead_Exit2()
    {
        var (exit, output, error) = CliConsole.Run("serve", "--socket", Path.Combine(Path.GetTempPath(), "pviommu-never.sock"), "--host", "no/such/host.toml");

        Assert.Equal(ExitCodes.Usage, exit);
        Assert.StartsWith("pviommu serve: --host: no/such/host.toml: cannot read the scenario", error, StringComparison.Ordinal);
        Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Empty(output);
    }

    [Theory]
    [InlineData("pviommu serve: give --socket or --tcp, not both", new[] { "--socket", "x.sock", "--tcp", "127.0.0.1:0" })]
    [InlineData("pviommu serve: --busy-poll must be 0 or more microseconds, got -5", new[] { "--socket", "x.sock", "--busy-poll", "-5" })]
    public void Serve_BadOptions_AreAUsageError_WithOneLine(string message, string[] options)
    {
        var (exit, output, error) = CliConsole.Run(["serve", .. options]);

        Assert.Equal(ExitCodes.Usage, exit);
        Assert.Equal(message, error.Trim());
        Assert.Empty(output);
    }

    [Fact]
    public void ServeHelp_DocumentsHostAndBusyPoll()
    {
        var (exit, output, _) = CliConsole.Run("serve", "--help");

        Assert.Equal(0, exit);
        Assert.Contains("--host <FILE>", output, StringComparison.Ordinal);
        Assert.Contains("scenario file", output, StringComparison.Ordinal);
        Assert.Contains("--busy-poll <MICROSECONDS>", output, StringComparison.Ordinal);
        Assert.Contains("(default 50)", output, StringComparison.Ordinal);
    }
}
