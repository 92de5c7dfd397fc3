using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Server.Tests.Support;
using PvIommu.Server.Wire;

namespace PvIommu.Server.Tests.Protocol;

/// <summary>wire-protocol.md, "Frames", kind 1 and the frame-level rules, over a real Unix socket.</summary>
public class HypercallFrameTests
{
    public static TheoryData<SubOp> SizedSubOps() =>
    [
        SubOp.QueryCapabilities, SubOp.Init, SubOp.AllocContext, SubOp.FreeContext, SubOp.ReattachDevice,
        SubOp.MapPages, SubOp.UnmapPages, SubOp.RemoteCmd, SubOp.FlushPages, SubOp.LookupPage,
    ];

    [Fact]
    public async Task Noop_EmptyPayload_RetZeroEmptyResponse()
    {
        await using var server = SocketServer.Start();
        using var dom0 = server.Connect(0);
        var response = dom0.Exchange(FrameKind.Hypercall, (ushort)SubOp.Noop, default, default);
        Assert.Equal(0, response.Ret);
        Assert.Equal(0, response.Payload.Length);
    }

    [Fact]
    public async Task Noop_WithAPayload_ZeroAndThePayloadUntouched()
    {
        // noop does not touch its argument (spec §1), so whatever was sent comes back as it was.
        await using var server = SocketServer.Start();
        using var dom0 = server.Connect(0);
        var response = dom0.Exchange(FrameKind.Hypercall, (ushort)SubOp.Noop, [1, 2, 3], default);
        Assert.Equal(0, response.Ret);
        Assert.Equal([1, 2, 3], response.Payload.ToArray());
    }

    [Fact]
    public async Task GateRefusal_PayloadComesBackUntouched()
    {
        await using var server = SocketServer.Start();
        using (var dom0 = server.Connect(0))
        {
            Assert.Equal(0, dom0.Toolstack("""{"op":"set_pv_iommu","domid":1,"pv_iommu":"off"}""").Ret);
        }

        using var domU = server.Connect(1);
        var bytes = Enumerable.Repeat((byte)0xA5, Capabilities.Size).ToArray();
        var response = domU.Exchange(FrameKind.Hypercall, (ushort)SubOp.QueryCapabilities, bytes, default);
        Assert.Equal(XenErrno.ENODEV.ToReturnValue(), response.Ret);
        Assert.Equal(bytes, response.Payload.ToArray());
    }

    [Theory]
    [MemberData(nameof(SizedSubOps))]
    public async Task Hypercall_PayloadOneByteShortOrLong_Efault(SubOp op)
    {
        await using var server = SocketServer.Start();
        using var dom0 = server.Connect(0);
        var size = op == SubOp.RemoteCmd ? 1 : SubOps.ArgumentSize(op);
        Assert.Equal(XenErrno.EFAULT.ToReturnValue(), dom0.IommuOp((uint)op, new byte[size - 1]));
        if (op != SubOp.RemoteCmd)
        {
            Assert.Equal(XenErrno.EFAULT.ToReturnValue(), dom0.IommuOp((uint)op, new byte[size + 1]));
        }

        server.AssertNoLeaks();
    }

    [Fact]
    public async Task Query_ResponseIsTheStructOfTheSameSize()
    {
        await using var server = SocketServer.Start();
        using var dom0 = server.Connect(0);
        var response = dom0.Exchange(FrameKind.Hypercall, (ushort)SubOp.QueryCapabilities, new byte[Capabilities.Size], default);
        Assert.Equal(0, response.Ret);
        Assert.Equal(Capabilities.Size, response.Payload.Length);
        var caps = Capabilities.Read(response.Payload);
        Assert.Equal(PageSizes.SupportedMask, caps.PgsizeMask);
        Assert.Equal(0, caps.MaxCtxNo);
    }

    [Fact]
    public async Task RemoteCmd_RemoteStructThenInner_BothComeBackInnerWritten()
    {
        await using var server = SocketServer.Start();
        using var dom0 = server.Connect(0);
        var payload = new byte[RemoteCmd.Size + Init.Size];
        new RemoteCmd { Domid = 1, Subop = SubOp.Init, Arg = 0xDEADBEEF }.Write(payload);
        new Init { MaxCtxNo = 5, ArenaOrder = 6 }.Write(payload.AsSpan(RemoteCmd.Size));
        var response = dom0.Exchange(FrameKind.Hypercall, (ushort)SubOp.RemoteCmd, payload, default);
        Assert.Equal(0, response.Ret);
        Assert.Equal(payload.Length, response.Payload.Length);
        Assert.Equal(1, RemoteCmd.Read(response.Payload).Domid);

        var query = new byte[RemoteCmd.Size + Capabilities.Size];
        new RemoteCmd { Domid = 1, Subop = SubOp.QueryCapabilities }.Write(query);
        Assert.Equal(0, dom0.IommuOp((uint)SubOp.RemoteCmd, query));
        Assert.Equal(5, Capabilities.Read(query.AsSpan(RemoteCmd.Size)).MaxCtxNo);
        server.AssertNoLeaks();
    }

    [Theory]
    [InlineData((ushort)0)]
    [InlineData((ushort)7)]
    [InlineData((ushort)0xFFFF)]
    public async Task UnknownKind_Eopnotsupp_ConnectionStaysUsable(ushort kind)
    {
        await using var server = SocketServer.Start();
        using var dom0 = server.Connect(0);
        var response = dom0.Exchange((FrameKind)kind, 0, new byte[3], default);
        Assert.Equal(XenErrno.EOPNOTSUPP.ToReturnValue(), response.Ret);
        Assert.Equal(0, dom0.IommuOp((uint)SubOp.Noop, []));
    }

    [Theory]
    [InlineData(FrameKind.MemoryRead)]
    [InlineData(FrameKind.HostInfo)]
    [InlineData(FrameKind.Toolstack)]
    public async Task NonHypercallKind_NonZeroCode_Einval(FrameKind kind)
    {
        await using var server = SocketServer.Start();
        using var dom0 = server.Connect(0);
        Assert.Equal(XenErrno.EINVAL.ToReturnValue(), dom0.Exchange(kind, 1, default, default).Ret);
    }

    [Fact]
    public async Task Pipelined_ManyFramesInOneWrite_AnsweredInOrder()
    {
        await using var server = SocketServer.Start();
        using var dom0 = server.Connect(0);
        var bytes = Enumerable.Range(0, 100)
            .SelectMany(i => Frames.Request((uint)(1000 + i), FrameKind.Hypercall, (ushort)(i % 2 == 0 ? SubOp.Noop : SubOp.QueryCapabilities), new byte[i % 2 == 0 ? 0 : Capabilities.Size]))
            .ToArray();
        var first = dom0.SendRaw(bytes);
        Assert.Equal(1000u, first.Seq);
        for (var i = 1; i < 100; i++)
        {
            var response = dom0.ReadResponse();
            Assert.Equal((uint)(1000 + i), response.Seq);
            Assert.Equal(0, response.Ret);
            Assert.Equal(i % 2 == 0 ? 0 : Capabilities.Size, response.Payload.Length);
        }
    }

    [Fact]
    public async Task Frame_TrickledByteByByte_Answered()
    {
        await using var server = SocketServer.Start();
        using var transport = server.Transport();
        using var dom0 = Server.Client.WireClient.Connect(transport, 0);
        var frame = Frames.Request(77, FrameKind.Hypercall, (ushort)SubOp.QueryCapabilities, new byte[Capabilities.Size]);
        foreach (var b in frame[..^1])
        {
            transport.Send([b]);
        }

        var response = dom0.SendRaw(frame.AsSpan(frame.Length - 1));
        Assert.Equal(77u, response.Seq);
        Assert.Equal(0, response.Ret);
    }
}
