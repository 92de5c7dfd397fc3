using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Server.Client;
using PvIommu.Server.Tests.Support;

namespace PvIommu.Server.Tests.Protocol;

/// <summary>
/// Busy polling (<see cref="ServerOptions.BusyPoll"/> and the client's): it only decides how a
/// thread waits for bytes, so every setting answers the same calls, a wait longer than the poll
/// still ends in a blocking receive, and a poll never outlasts the peer's close or a stop.
/// </summary>
public class BusyPollTests
{
    [Theory]
    [InlineData(0, 0)]
    [InlineData(50, 50)]
    [InlineData(5_000, 0)]
    [InlineData(0, 5_000)]
    public async Task Calls_AreAnsweredWhateverEachSidePolls_AlsoAfterIdleGapsLongerThanThePoll(int serverMicroseconds, int clientMicroseconds)
    {
        await using var server = SocketServer.Start(busyPoll: TimeSpan.FromMicroseconds(serverMicroseconds));
        using var dom0 = WireClient.Connect(SocketClientTransport.Connect(server.Endpoint, TimeSpan.FromMicroseconds(clientMicroseconds)), 0);
        for (var i = 0; i < 3; i++)
        {
            var query = new byte[Capabilities.Size];
            Assert.Equal(0, dom0.IommuOp((uint)SubOp.QueryCapabilities, query));
            Assert.NotEqual(0UL, Capabilities.Read(query).MaxIovaAddr);

            // Idle for longer than either side polls: both fall back to a blocking receive.
            Thread.Sleep(20);
        }

        Assert.Equal(0, dom0.IommuOp((uint)SubOp.Noop, []));
    }

    [Fact]
    public async Task Stop_EndsAConnectionWhoseThreadPolls_WithoutWaitingOutThePoll()
    {
        var server = SocketServer.Start(busyPoll: TimeSpan.FromMinutes(1));
        using var dom0 = server.Connect(0);
        Assert.Equal(0, dom0.IommuOp((uint)SubOp.Noop, []));

        // The connection's thread is polling (for a minute) when the server stops: the stop
        // shuts the socket down, which makes it readable, so the thread sees the end at once.
        await server.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(0, server.Server.ActiveSessions);
    }

    [Fact]
    public async Task ClientClose_EndsItsSession_WhileTheServerPolls()
    {
        await using var server = SocketServer.Start(busyPoll: TimeSpan.FromMinutes(1));
        var dom0 = server.Connect(0);
        Assert.Equal(0, dom0.IommuOp((uint)SubOp.Noop, []));
        Assert.Equal(1, server.Server.ActiveSessions);

        dom0.Dispose();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (server.Server.ActiveSessions > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(5);
        }

        Assert.Equal(0, server.Server.ActiveSessions);
    }

    [Fact]
    public void NegativeBusyPoll_IsRefused_OnBothSides()
    {
        var options = new ServerOptions { BusyPoll = TimeSpan.FromMicroseconds(-1) };
        Assert.Throws<ArgumentOutOfRangeException>(() => new PvIommuServer(Hosts.Small(), options));
        var endpoint = new ServerEndpoint.UnixSocket(Path.Combine(Path.GetTempPath(), "pvi-none"));
        Assert.Throws<ArgumentOutOfRangeException>(() => SocketClientTransport.Connect(endpoint, TimeSpan.FromTicks(-1)));
    }
}
