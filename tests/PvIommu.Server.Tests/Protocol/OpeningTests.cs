using PvIommu.Abi;
using PvIommu.Server.Client;
using PvIommu.Server.Tests.Support;
using PvIommu.Server.Wire;

namespace PvIommu.Server.Tests.Protocol;

/// <summary>wire-protocol.md, "Opening", over a real Unix socket.</summary>
public class OpeningTests
{
    [Fact]
    public async Task Hello_AsDom0_StatusZeroAndEveryCap()
    {
        await using var server = SocketServer.Start();
        using var transport = server.Transport();
        var reply = WireClient.OpenRaw(transport, Frames.Hello(0));
        Assert.Equal(0, reply.Status);
        Assert.Equal(ServerCaps.MemoryOps | ServerCaps.DeviceDma | ServerCaps.HostInfo, reply.Caps);
        server.AssertNoLeaks();
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(0, 1)]
    public async Task Hello_NonZeroFlagsOrReserved_EinvalThenClose(ushort flags, uint reserved)
    {
        await using var server = SocketServer.Start();
        using var transport = server.Transport();
        var reply = WireClient.OpenRaw(transport, Frames.Hello(0, flags, reserved));
        Assert.Equal(XenErrno.EINVAL.ToReturnValue(), reply.Status);
        Assert.Equal(0, transport.Receive(new byte[1]));
    }

    [Fact]
    public async Task Hello_BadMagic_EinvalThenClose()
    {
        await using var server = SocketServer.Start();
        using var transport = server.Transport();
        var hello = Frames.Hello(0);
        hello[7] = (byte)'2';
        var reply = WireClient.OpenRaw(transport, hello);
        Assert.Equal(XenErrno.EINVAL.ToReturnValue(), reply.Status);
        Assert.Equal(0, transport.Receive(new byte[1]));
    }

    [Theory]
    [InlineData((ushort)7)]
    [InlineData(Hypervisor.Host.DomIoId)]
    public async Task Hello_NoSuchDomain_Enoent(ushort domid)
    {
        await using var server = SocketServer.Start();
        var e = Assert.Throws<WireHelloException>(() => server.Connect(domid));
        Assert.Equal(XenErrno.ENOENT.ToReturnValue(), e.Status);
    }

    [Fact]
    public async Task Hello_BeyondSessionLimit_EbusyUntilOneCloses()
    {
        await using var server = SocketServer.Start(maxSessions: 2);
        using var first = server.Connect(0);
        using (var second = server.Connect(1))
        {
            var e = Assert.Throws<WireHelloException>(() => server.Connect(0));
            Assert.Equal(XenErrno.EBUSY.ToReturnValue(), e.Status);
        }

        // The slot comes back when the server notices the close.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (server.Server.ActiveSessions > 1 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        using var third = server.Connect(0);
        Assert.Equal(0, third.IommuOp((uint)SubOp.Noop, []));
    }

    [Fact]
    public async Task Hello_SentInPieces_IsAnswered()
    {
        await using var server = SocketServer.Start();
        using var transport = server.Transport();
        var hello = Frames.Hello(0);
        foreach (var b in hello[..15])
        {
            transport.Send([b]);
        }

        var reply = WireClient.OpenRaw(transport, hello.AsSpan(15));
        Assert.Equal(0, reply.Status);
    }
}
