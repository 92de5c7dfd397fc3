using System.Buffers.Binary;
using System.Diagnostics;
using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Server.Sessions;
using PvIommu.Server.Tests.Support;
using PvIommu.Server.Wire;
using Xunit.Abstractions;

namespace PvIommu.Server.Tests.Fuzz;

/// <summary>
/// Seeded fuzzing of the frame codec and the session, in process (no sockets): random and
/// half-valid byte streams go through exactly the connection code a socket feeds. No exception
/// may escape, and every complete request gets its response, in order, or the connection
/// closes cleanly after an error reply.
/// </summary>
public class WireFuzzTests(ITestOutputHelper output)
{
    private static readonly int _inputs = int.Parse(Environment.GetEnvironmentVariable("FUZZ_INPUTS") ?? "1000000", System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void Connection_MillionSeededInputs_AnswersEveryFrameOrClosesCleanly()
    {
        var host = Hosts.Small(cpus: 1);
        using var service = new WireService(host, maxSessions: 4);
        var random = new FastRandom(20240611);
        var sink = new RecordingSink();
        var generator = new InputGenerator(random, host.Dom0FirstGfn());
        var clock = Stopwatch.StartNew();
        var closed = 0;
        for (var i = 0; i < _inputs; i++)
        {
            var input = generator.Next(out var expected);
            sink.Clear();
            using (var connection = service.Open(sink))
            {
                Feed(connection, input.Span, random);
                closed += connection.IsOpen ? 0 : 1;
                Verify(input.Span, sink.Written, connection.IsOpen, expected, i);
            }
        }

        output.WriteLine($"{_inputs} inputs in {clock.Elapsed.TotalSeconds:F1} s, {closed} closed by the server");
        Assert.Equal(0, service.ActiveSessions);
        Assert.Empty(host.Audit());
    }

    [Fact]
    public void Decoders_MillionSeededBuffers_NeverThrowOnLongEnoughInput()
    {
        var random = new FastRandom(7);
        var buffer = new byte[64];
        for (var i = 0; i < _inputs; i++)
        {
            random.NextBytes(buffer);
            var header = RequestHeader.Read(buffer);
            _ = header.Check();
            _ = ResponseHeader.Read(buffer);
            _ = HelloRequest.TryRead(buffer, out _);
            _ = HelloResponse.TryRead(buffer, out _);
            _ = MemoryRequest.Read(buffer);
            _ = DmaRequest.Read(buffer);
            _ = DmaFault.Read(buffer);
            _ = Capabilities.Read(buffer);
            _ = Init.Read(buffer);
            _ = Alloc.Read(buffer);
            _ = Free.Read(buffer);
            _ = ReattachDevice.Read(buffer);
            _ = MapPages.Read(buffer);
            _ = UnmapPages.Read(buffer);
            _ = RemoteCmd.Read(buffer);
            _ = FlushPages.Read(buffer);
            _ = LookupPage.Read(buffer);

            // Round trip: what a decoder reads, its encoder writes back (padding aside).
            var map = MapPages.Read(buffer);
            var again = new byte[MapPages.Size];
            map.Write(again);
            Assert.Equal(map, MapPages.Read(again));
        }
    }

    /// <summary>Feeds the bytes in random chunks, as a socket would deliver them, until the connection closes.</summary>
    private static void Feed(WireConnection connection, ReadOnlySpan<byte> input, FastRandom random)
    {
        while (!input.IsEmpty)
        {
            var space = connection.ReceiveSpace();
            Assert.False(space.IsEmpty);
            var n = Math.Min(Math.Min(space.Length, input.Length), random.Next(4) == 0 ? random.Next(1, 8) : int.MaxValue);
            input[..n].CopyTo(space);
            input = input[n..];
            if (!connection.Received(n))
            {
                return;
            }
        }
    }

    /// <summary>
    /// Replays the request stream as the protocol defines it and checks the reply stream
    /// against it: the opening reply, then one response per complete frame with its seq, and
    /// a close exactly after a refused opening or a framing error.
    /// </summary>
    private static void Verify(ReadOnlySpan<byte> input, ReadOnlySpan<byte> reply, bool open, Expectation expected, int index)
    {
        if (input.Length < WireFormat.HelloSize)
        {
            Assert.True(reply.IsEmpty && open, $"input {index}: a partial opening got a reply");
            return;
        }

        Assert.True(HelloResponse.TryRead(reply, out var hello), $"input {index}: no opening reply");
        reply = reply[WireFormat.HelloSize..];
        if (hello.Status != 0)
        {
            Assert.True(reply.IsEmpty && !open, $"input {index}: a refused opening did not close");
            Assert.NotEqual(Expectation.Accepted, expected);
            return;
        }

        input = input[WireFormat.HelloSize..];
        while (true)
        {
            if (input.Length < WireFormat.LengthSize)
            {
                break;
            }

            var length = BinaryPrimitives.ReadUInt32LittleEndian(input);
            var bad = length is < WireFormat.RequestFixedLength or > WireFormat.MaxFrameLength;
            if (bad && length >= 4 && input.Length < 8)
            {
                break;
            }

            if (!bad && input.Length < WireFormat.RequestHeaderSize)
            {
                break;
            }

            var seq = length >= 4 && input.Length >= 8 ? BinaryPrimitives.ReadUInt32LittleEndian(input[4..]) : 0u;
            if (!bad && BinaryPrimitives.ReadUInt32LittleEndian(input[12..]) != 0)
            {
                bad = true;
            }

            if (bad)
            {
                var refusal = ResponseHeader.Read(reply);
                Assert.True(refusal.Ret == XenErrno.EINVAL.ToReturnValue() && refusal.Seq == seq && refusal.PayloadLength == 0, $"input {index}: framing error not answered -EINVAL seq {seq}");
                Assert.True(reply.Length == WireFormat.ResponseHeaderSize && !open, $"input {index}: the connection outlived a framing error");
                return;
            }

            if (input.Length < WireFormat.LengthSize + (int)length)
            {
                break;
            }

            Assert.True(reply.Length >= WireFormat.ResponseHeaderSize, $"input {index}: a complete frame got no response");
            var response = ResponseHeader.Read(reply);
            Assert.True(response.Seq == seq && response.Length >= WireFormat.ResponseFixedLength, $"input {index}: response seq {response.Seq} for request {seq}");
            Assert.True(response.Ret <= 0, $"input {index}: positive ret {response.Ret}");
            reply = reply[(WireFormat.LengthSize + (int)response.Length)..];
            input = input[(WireFormat.LengthSize + (int)length)..];
        }

        Assert.True(reply.IsEmpty && open, $"input {index}: {reply.Length} reply bytes left over, or closed without an error");
    }

    private sealed class RecordingSink : IFrameSink
    {
        private byte[] _bytes = new byte[1 << 16];
        private int _length;

        public ReadOnlySpan<byte> Written => _bytes.AsSpan(0, _length);

        public void Clear() => _length = 0;

        public void Send(ReadOnlySpan<byte> bytes)
        {
            if (_bytes.Length - _length < bytes.Length)
            {
                Array.Resize(ref _bytes, Math.Max(_bytes.Length * 2, _length + bytes.Length));
            }

            bytes.CopyTo(_bytes.AsSpan(_length));
            _length += bytes.Length;
        }
    }
}
