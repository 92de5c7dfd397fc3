using System.Buffers.Binary;
using PvIommu.Abi;
using PvIommu.Server.Tests.Support;
using PvIommu.Server.Wire;

namespace PvIommu.Server.Tests.Robustness;

/// <summary>
/// wire-protocol.md, "Rules": a frame shorter than its header, longer than 16 MiB, or with a
/// non-zero reserved field gets -EINVAL with its seq, then that connection closes; the server
/// and every other connection go on.
/// </summary>
public class MalformedFrameTests
{
    /// <summary>What is wrong, the length field, the seq the reply must carry (0 when the frame is too short to hold one).</summary>
    public static TheoryData<string, uint, uint> Corruptions() => new()
    {
        { "length 0", 0, 0 },
        { "length 3", 3, 0 },
        { "length 4", 4, 0xABCD },
        { "length 11", 11, 0xABCD },
        { "length 16 MiB + 1", WireFormat.MaxFrameLength + 1, 0xABCD },
        { "length 4 GiB - 1", uint.MaxValue, 0xABCD },
        { "reserved", WireFormat.RequestFixedLength, 0xABCD },
    };

    [Theory]
    [MemberData(nameof(Corruptions))]
    public async Task MalformedFrame_EinvalWithSeqThenClose_OthersUnaffected(string what, uint length, uint seq)
    {
        await using var server = SocketServer.Start();
        using var bystander = server.Connect(1);
        using var victim = server.Connect(0);
        var frame = Frames.Request(0xABCD, FrameKind.Hypercall, 0, default, reserved: what == "reserved" ? 1u : 0u);
        BinaryPrimitives.WriteUInt32LittleEndian(frame, length);

        var response = victim.SendRaw(frame);
        Assert.Equal(XenErrno.EINVAL.ToReturnValue(), response.Ret);
        Assert.Equal(seq, response.Seq);
        Assert.Equal(0, response.Payload.Length);
        Assert.True(victim.WaitForClose());

        Assert.Equal(0, bystander.IommuOp((uint)SubOp.Noop, []));
        using var after = server.Connect(0);
        Assert.Equal(0, after.IommuOp((uint)SubOp.Noop, []));
        server.AssertNoLeaks();
    }

    [Fact]
    public async Task OversizeClaim_WithTheClientStillSending_AnsweredAndClosed()
    {
        await using var server = SocketServer.Start();
        using var victim = server.Connect(0);
        var frame = Frames.Request(5, FrameKind.MemoryWrite, 0, new byte[64 * 1024]);
        BinaryPrimitives.WriteUInt32LittleEndian(frame, 64 * 1024 * 1024);
        var response = victim.SendRaw(frame);
        Assert.Equal(XenErrno.EINVAL.ToReturnValue(), response.Ret);
        Assert.Equal(5u, response.Seq);
        using var other = server.Connect(0);
        Assert.Equal(0, other.IommuOp((uint)SubOp.Noop, []));
    }

    [Fact]
    public async Task LargestLegalFrame_16MiB_Served()
    {
        await using var server = SocketServer.Start();
        using var dom0 = server.Connect(0);
        var head = new byte[MemoryRequest.Size];
        var len = WireFormat.MaxRequestPayload - MemoryRequest.Size;
        new MemoryRequest(server.Host.Dom0FirstGfn() << 12, (uint)len, 0).Write(head);
        var response = dom0.Exchange(FrameKind.MemoryWrite, 0, head, new byte[len]);
        Assert.Equal(0, response.Ret);

        new MemoryRequest(server.Host.Dom0FirstGfn() << 12, WireFormat.MaxResponsePayload, 0).Write(head);
        var read = dom0.Exchange(FrameKind.MemoryRead, 0, head, default);
        Assert.Equal(0, read.Ret);
        Assert.Equal(WireFormat.MaxResponsePayload, read.Payload.Length);
        Assert.Equal(0, dom0.IommuOp((uint)SubOp.Noop, []));
    }
}
