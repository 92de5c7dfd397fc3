using System.Text;
using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Server.Wire;

namespace PvIommu.Server.Tests.Fuzz;

/// <summary>What the generator meant an input's opening to get.</summary>
internal enum Expectation
{
    /// <summary>A well-formed opening of an existing domain.</summary>
    Accepted,

    /// <summary>Anything else.</summary>
    Unknown,
}

/// <summary>
/// Seeded inputs, from pure noise to well-formed frames with random contents: a stream is an
/// opening (usually valid) and a few frames, each one of a valid header with a payload of the
/// right size, a random size, random bytes, or a corrupted header.
/// </summary>
internal sealed class InputGenerator(FastRandom random, ulong dom0Gfn)
{
    private static readonly SubOp[] _ops = Enum.GetValues<SubOp>();
    private static readonly string[] _commands =
    [
        """{"op":"create_domain","memory_frames":16}""",
        """{"op":"destroy_domain","domid":2}""",
        """{"op":"balloon_in","domid":1,"gfn":1000000,"count":2}""",
        """{"op":"balloon_out","domid":1,"gfns":[1000000,1000001]}""",
        """{"op":"set_pv_iommu","domid":1,"pv_iommu":"on"}""",
        """{"op":"set_pv_iommu","domid":1,"pv_iommu":"caps-only"}""",
        """{"op":"make_assignable","sbdf":"0000:00:03.0"}""",
        """{"op":"assign_device","sbdf":"0000:00:03.0","domid":0}""",
        """{"op":"destroy_domain","domid":32753}""",
        """{"op":"create_domain","memory_mib":99999999999}""",
        "[1,2,3]",
        "{",
        "",
    ];

    private readonly byte[] _buffer = new byte[1 << 20];
    private int _length;
    private uint _seq;

    public ReadOnlyMemory<byte> Next(out Expectation expectation)
    {
        _length = 0;
        expectation = Expectation.Unknown;
        if (random.Next(50) == 0)
        {
            Bytes(random.Next(0, 64));
            return _buffer.AsMemory(0, _length);
        }

        var domid = random.Next(10) switch
        {
            0 => (ushort)random.Next(ushort.MaxValue + 1),
            < 4 => (ushort)1,
            _ => (ushort)0,
        };
        var wellFormed = random.Next(30) != 0;
        new HelloRequest(domid, wellFormed ? (ushort)0 : (ushort)random.Next(2), wellFormed ? 0u : (uint)random.Next(2)).Write(Take(WireFormat.HelloSize));
        if (random.Next(40) == 0)
        {
            _buffer[random.Next(8)] ^= 1;
        }
        else if (wellFormed && domid <= 1)
        {
            expectation = Expectation.Accepted;
        }

        var frames = random.Next(1, 5);
        for (var i = 0; i < frames; i++)
        {
            Frame();
        }

        if (random.Next(10) == 0)
        {
            Bytes(random.Next(1, 20));
        }

        return _buffer.AsMemory(0, _length);
    }

    private void Frame()
    {
        var start = _length;
        Take(WireFormat.RequestHeaderSize);
        // Host info and toolstack commands cost milliseconds (they walk the host): rare.
        var kind = random.Next(100_000) switch
        {
            0 => (ushort)FrameKind.HostInfo,
            < 100 => (ushort)FrameKind.Toolstack,
            < 5_000 => (ushort)random.Next(ushort.MaxValue + 1),
            < 60_000 => (ushort)FrameKind.Hypercall,
            < 72_000 => (ushort)FrameKind.MemoryWrite,
            < 80_000 => (ushort)FrameKind.MemoryRead,
            _ => (ushort)FrameKind.DeviceDma,
        };
        var code = kind == (ushort)FrameKind.Hypercall ? (ushort)_ops[random.Next(_ops.Length)] : (ushort)0;
        if (random.Next(15) == 0)
        {
            code = (ushort)random.Next(ushort.MaxValue + 1);
        }

        Payload((FrameKind)kind, code);
        var length = (uint)(_length - start - WireFormat.LengthSize);
        var reserved = 0u;
        switch (random.Next(60))
        {
            case 0:
                length = (uint)random.Next(WireFormat.RequestFixedLength);
                break;
            case 1:
                length = WireFormat.MaxFrameLength + (uint)random.Next(1, 1000);
                break;
            case 2:
                reserved = (uint)random.Next(1, int.MaxValue);
                break;
            case 3:
                length = (uint)random.Next(WireFormat.RequestFixedLength, 1 << 16);
                break;
        }

        new RequestHeader(length, ++_seq, kind, code, reserved).Write(_buffer.AsSpan(start));
    }

    private void Payload(FrameKind kind, ushort code)
    {
        switch (random.Next(8))
        {
            case 0:
                Bytes(random.Next(0, 48));
                return;
            case 1:
                return;
        }

        switch (kind)
        {
            case FrameKind.Hypercall:
                Hypercall((SubOp)code);
                break;
            case FrameKind.MemoryWrite or FrameKind.MemoryRead:
                var len = Length();
                new MemoryRequest(Address(), random.Next(30) == 0 ? (uint)random.Next() : len, random.Next(30) == 0 ? 1u : 0u).Write(Take(MemoryRequest.Size));
                if (kind == FrameKind.MemoryWrite)
                {
                    Bytes((int)len);
                }

                break;
            case FrameKind.DeviceDma:
                var writes = random.Next(2) == 0;
                var dmaLen = Length();
                var devfn = (byte)(random.Next(4) == 0 ? random.Next(256) : (random.Next(2, 5) << 3) | random.Next(2));
                new DmaRequest(0, (byte)random.Next(2), devfn, writes ? DmaFlags.DeviceWrites : DmaFlags.None, Address(), dmaLen, random.Next(30) == 0 ? 1u : 0u).Write(Take(DmaRequest.Size));
                if (writes)
                {
                    Bytes((int)dmaLen);
                }

                break;
            case FrameKind.Toolstack:
                var command = _commands[random.Next(_commands.Length)];
                Encoding.UTF8.GetBytes(command, Take(Encoding.UTF8.GetByteCount(command)));
                break;
        }
    }

    /// <summary>A struct of the right size (usually) with fields that are sometimes sensible.</summary>
    private void Hypercall(SubOp op)
    {
        var size = SubOps.ArgumentSize(op);
        if (size < 0 || random.Next(10) == 0)
        {
            Bytes(random.Next(0, 64));
            return;
        }

        var arg = Take(size);
        random.NextBytes(arg);
        switch (op)
        {
            case SubOp.Init:
                new Init { MaxCtxNo = (uint)random.Next(0, 70), ArenaOrder = (uint)random.Next(0, 14) }.Write(arg);
                break;
            case SubOp.AllocContext:
                new Alloc { AllocFlags = (AllocFlags)random.Next(3) }.Write(arg);
                break;
            case SubOp.FreeContext:
                new Free { CtxNo = (ushort)random.Next(0, 8), FreeFlags = (FreeFlags)random.Next(3) }.Write(arg);
                break;
            case SubOp.MapPages:
                new MapPages { CtxNo = (ushort)random.Next(0, 8), Gfn = dom0Gfn + (ulong)random.Next(0, 20000), Dfn = (ulong)random.Next(0, 4096), MapFlags = (MapFlags)random.Next(16), Pgsize = PageSizes.Size4K, NrPages = Pages() }.Write(arg);
                break;
            case SubOp.UnmapPages:
                new UnmapPages { CtxNo = (ushort)random.Next(0, 8), Dfn = (ulong)random.Next(0, 4096), Pgsize = PageSizes.Size4K, NrPages = Pages() }.Write(arg);
                break;
            case SubOp.ReattachDevice:
                new ReattachDevice { CtxNo = (ushort)random.Next(0, 8), Dev = new PciDevice { Bus = (byte)random.Next(2), DevFn = (byte)(random.Next(5) << 3) }, Pasid = (uint)random.Next(2) }.Write(arg);
                break;
            case SubOp.RemoteCmd when random.Next(2) == 0:
                _length -= size;
                new RemoteCmd { Domid = (ushort)random.Next(3), Subop = _ops[random.Next(_ops.Length)] }.Write(Take(RemoteCmd.Size));
                var inner = SubOps.ArgumentSize(_ops[random.Next(_ops.Length)]);
                Bytes(Math.Max(0, inner));
                break;
        }
    }

    /// <summary>Mostly short transfers, sometimes several pages.</summary>
    private uint Length() => (uint)(random.Next(20) == 0 ? random.Next(0, 9000) : random.Next(0, 64));

    /// <summary>Mostly a few pages, sometimes more than a preemption slice.</summary>
    private uint Pages() => (uint)(random.Next(100) == 0 ? random.Next(0, 600) : random.Next(0, 16));

    private ulong Address() => random.Next(4) switch
    {
        0 => (ulong)random.NextInt64(),
        1 => (ulong)random.Next(0, 1 << 24),
        _ => (dom0Gfn << 12) + (ulong)random.Next(0, 1 << 26),
    };

    private void Bytes(int count) => random.NextBytes(Take(count));

    private Span<byte> Take(int count)
    {
        var span = _buffer.AsSpan(_length, count);
        _length += count;
        return span;
    }
}
