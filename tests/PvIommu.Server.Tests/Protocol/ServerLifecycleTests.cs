using System.Net;
using System.Net.Sockets;
using PvIommu.Abi;
using PvIommu.Server.Client;
using PvIommu.Server.Tests.Support;

namespace PvIommu.Server.Tests.Protocol;

/// <summary>Endpoints, start and stop, and the trace.</summary>
public class ServerLifecycleTests
{
    [Theory]
    [InlineData("127.0.0.1:0")]
    [InlineData("127.1.2.3:7043")]
    [InlineData("localhost:0")]
    [InlineData("[::1]:0")]
    public void TryParseTcp_Loopback_Accepted(string text)
    {
        Assert.True(ServerEndpoint.TryParseTcp(text, out var endpoint, out var error), error);
        Assert.True(IPAddress.IsLoopback(((ServerEndpoint.TcpLoopback)endpoint!).EndPoint.Address));
    }

    [Theory]
    [InlineData("0.0.0.0:7043", "loopback")]
    [InlineData("10.1.2.3:7043", "loopback")]
    [InlineData("[::]:7043", "loopback")]
    [InlineData("example.com:7043", "not an IP address")]
    [InlineData("127.0.0.1", "HOST:PORT")]
    [InlineData("127.0.0.1:70000", "HOST:PORT")]
    public void TryParseTcp_NotLoopbackOrMalformed_RefusedWithAReason(string text, string reason)
    {
        Assert.False(ServerEndpoint.TryParseTcp(text, out _, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tcp_Loopback_ServesCalls()
    {
        Assert.True(ServerEndpoint.TryParseTcp("127.0.0.1:0", out var endpoint, out _));
        await using var server = new PvIommuServer(Hosts.Small(), new ServerOptions { Endpoint = endpoint! });
        server.Start();
        Assert.NotEqual(0, ((ServerEndpoint.TcpLoopback)server.Endpoint).EndPoint.Port);
        using var dom0 = WireClient.Connect(SocketClientTransport.Connect(server.Endpoint), 0);
        Assert.Equal(0, dom0.IommuOp((uint)SubOp.Noop, []));
        var response = dom0.SendRaw(Frames.Request(9, Wire.FrameKind.Hypercall, 0, default, reserved: 1));
        Assert.Equal(XenErrno.EINVAL.ToReturnValue(), response.Ret);
        Assert.True(dom0.WaitForClose());
    }

    [Fact]
    public async Task Start_SocketPathServedByAnotherServer_RefusedAndLeftAlone()
    {
        await using var first = SocketServer.Start();
        await using var second = new PvIommuServer(Hosts.Small(), new ServerOptions { Endpoint = first.Endpoint });
        var e = Assert.Throws<ServerStartException>(second.Start);
        Assert.Contains("in use", e.Message, StringComparison.Ordinal);
        using var dom0 = first.Connect(0);
        Assert.Equal(0, dom0.IommuOp((uint)SubOp.Noop, []));
    }

    [Fact]
    public async Task Start_StaleSocketFile_Replaced()
    {
        var folder = Directory.CreateTempSubdirectory("pvi-");
        var path = Path.Combine(folder.FullName, "s");
        using (var dead = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            // .NET unlinks the file it bound when the socket is disposed; a killed server
            // leaves it behind, as the moved file here is left behind.
            dead.Bind(new UnixDomainSocketEndPoint(path + "-bound"));
            File.Move(path + "-bound", path);
        }

        Assert.True(File.Exists(path));
        await using (var server = new PvIommuServer(Hosts.Small(), new ServerOptions { Endpoint = new ServerEndpoint.UnixSocket(path) }))
        {
            server.Start();
            using var dom0 = WireClient.Connect(SocketClientTransport.Connect(server.Endpoint), 0);
            Assert.Equal(0, dom0.IommuOp((uint)SubOp.Noop, []));
        }

        Assert.False(File.Exists(path));
        folder.Delete(recursive: true);
    }

    [Fact]
    public async Task Start_RegularFileAtThePath_RefusedAndKept()
    {
        var folder = Directory.CreateTempSubdirectory("pvi-");
        var path = Path.Combine(folder.FullName, "s");
        await File.WriteAllTextAsync(path, "not a socket");
        await using (var server = new PvIommuServer(Hosts.Small(), new ServerOptions { Endpoint = new ServerEndpoint.UnixSocket(path) }))
        {
            Assert.Throws<ServerStartException>(server.Start);
        }

        Assert.Equal("not a socket", await File.ReadAllTextAsync(path));
        folder.Delete(recursive: true);
    }

    [Fact]
    public async Task Stop_WithClientsConnected_EndsTheirSessionsAndRemovesTheSocketFile()
    {
        var server = SocketServer.Start();
        var clients = Enumerable.Range(0, 8).Select(i => server.Connect((ushort)(i % 2))).ToList();
        Assert.Equal(8, server.Server.ActiveSessions);
        var path = server.SocketPath;
        await server.Server.StopAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(File.Exists(path));
        Assert.Equal(0, server.Server.ActiveSessions);
        foreach (var client in clients)
        {
            Assert.True(client.WaitForClose());
            client.Dispose();
        }

        await server.DisposeAsync();
        Assert.Empty(server.Host.Audit());
    }

    [Fact]
    public async Task RunAsync_Cancelled_StopsCleanly()
    {
        var folder = Directory.CreateTempSubdirectory("pvi-");
        var path = Path.Combine(folder.FullName, "s");
        await using var server = new PvIommuServer(Hosts.Small(), new ServerOptions { Endpoint = new ServerEndpoint.UnixSocket(path) });
        using var cancel = new CancellationTokenSource();
        var run = server.RunAsync(cancel.Token);
        while (!File.Exists(path))
        {
            await Task.Delay(5);
        }

        using (var dom0 = WireClient.Connect(SocketClientTransport.Connect(server.Endpoint), 0))
        {
            Assert.Equal(0, dom0.IommuOp((uint)SubOp.Noop, []));
        }

        await cancel.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(File.Exists(path));
        folder.Delete(recursive: true);
    }

    [Fact]
    public async Task Opening_NotSentInTime_ConnectionClosed_SessionsAfterItServed()
    {
        var folder = Directory.CreateTempSubdirectory("pvi-");
        await using var server = new PvIommuServer(Hosts.Small(), new ServerOptions
        {
            Endpoint = new ServerEndpoint.UnixSocket(Path.Combine(folder.FullName, "s")),
            OpeningTimeout = TimeSpan.FromMilliseconds(200),
        });
        server.Start();
        using var silent = SocketClientTransport.Connect(server.Endpoint);
        using var dom0 = WireClient.Connect(SocketClientTransport.Connect(server.Endpoint), 0);
        Assert.Equal(0, silent.Receive(new byte[1]));
        await Task.Delay(400);
        Assert.Equal(0, dom0.IommuOp((uint)SubOp.Noop, []));
        await server.StopAsync();
        folder.Delete(recursive: true);
    }

    [Fact]
    public async Task Trace_OneLinePerCall_WithDomainSubOpResultAndTime()
    {
        var trace = new StringWriter();
        await using (var server = SocketServer.Start(trace))
        {
            using var dom0 = server.Connect(0);
            dom0.IommuOp((uint)SubOp.Noop, []);
            dom0.IommuOp((uint)SubOp.Init, new byte[8]);
            dom0.ReadMemory(0, new byte[4]);
            var remote = new byte[16 + 24];
            remote[0] = 1;
            remote[2] = (byte)SubOp.QueryCapabilities;
            dom0.IommuOp((uint)SubOp.RemoteCmd, remote);
            dom0.Dma(Frames.Pci(Hypervisor.Toolstack.DefaultHost.Gpu), deviceWrites: true, 1UL << 50, new byte[8]);
            dom0.SendRaw(Frames.Request(9, Wire.FrameKind.HostInfo, 0, default, reserved: 2));
        }

        var lines = trace.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^trace c\d+ d0 hello ret=0 \d+\.\dus$", lines[0]);
        Assert.Matches(@"^trace c\d+ d0 hypercall noop ret=0 \d+\.\dus$", lines[1]);
        Assert.Matches(@"^trace c\d+ d0 hypercall init ret=-E2BIG \d+\.\dus$", lines[2]);
        Assert.Matches(@"^trace c\d+ d0 memory_read 0x0\+4 ret=-EFAULT \d+\.\dus$", lines[3]);
        Assert.Matches(@"^trace c\d+ d0 hypercall remote_cmd\(d1 query_capabilities\) ret=0 \d+\.\dus$", lines[4]);
        Assert.Matches(@"^trace c\d+ d0 dma 0000:00:04.0 write 0x4000000000000\+8 ret=-EIO fault=5@0x4000000000000 \d+\.\dus$", lines[5]);
        Assert.Matches(@"^trace c\d+ d0 frame error ReservedNotZero seq=9: closing$", lines[6]);
    }
}
