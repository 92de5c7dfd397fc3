using PvIommu.Abi;
using PvIommu.Hypervisor.Domains;
using PvIommu.Platform.Memory;
using PvIommu.Server.Wire;

namespace PvIommu.Server.Sessions;

/// <summary>
/// Kinds 2 and 3: the domain reads and writes its own memory, as its vCPU would, through its
/// p2m: gpa → gfn → mfn, frame by frame.
/// </summary>
/// <remarks>
/// Every frame of the range is checked before a byte moves, under the domain's lock (so no
/// balloon or teardown runs in between): an unbacked gfn, an MMIO gfn, or a write to read-only
/// RAM gives -EFAULT and nothing is transferred.
/// </remarks>
internal sealed partial class Session
{
    private int MemoryWrite(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < MemoryRequest.Size)
        {
            return XenErrno.EFAULT.ToReturnValue();
        }

        var request = MemoryRequest.Read(payload);
        if (request.Reserved != 0)
        {
            return XenErrno.EINVAL.ToReturnValue();
        }

        var data = payload[MemoryRequest.Size..];
        if ((ulong)data.Length != request.Len)
        {
            return XenErrno.EFAULT.ToReturnValue();
        }

        lock (Domain.Lock)
        {
            if (!CheckRange(request.Gpa, data.Length, write: true))
            {
                return XenErrno.EFAULT.ToReturnValue();
            }

            var pieces = new Pieces(Domain.P2m, request.Gpa, data.Length);
            while (pieces.Next(out var mfn, out var offset, out var done, out var n))
            {
                Host.Machine.Memory.Write(mfn, offset, data.Slice(done, n));
            }
        }

        return 0;
    }

    private int MemoryRead(ReadOnlySpan<byte> payload, ref Response response)
    {
        if (payload.Length != MemoryRequest.Size)
        {
            return XenErrno.EFAULT.ToReturnValue();
        }

        var request = MemoryRequest.Read(payload);
        if (request.Reserved != 0 || request.Len > WireFormat.MaxResponsePayload)
        {
            return XenErrno.EINVAL.ToReturnValue();
        }

        var length = (int)request.Len;
        lock (Domain.Lock)
        {
            if (!CheckRange(request.Gpa, length, write: false))
            {
                return XenErrno.EFAULT.ToReturnValue();
            }

            var data = response.Payload(length);
            var pieces = new Pieces(Domain.P2m, request.Gpa, length);
            while (pieces.Next(out var mfn, out var offset, out var done, out var n))
            {
                Host.Machine.Memory.Read(mfn, offset, data.Slice(done, n));
            }
        }

        return 0;
    }

    /// <summary>Whether every frame of [gpa, gpa + length) is memory the domain may access this way.</summary>
    private bool CheckRange(ulong gpa, int length, bool write)
    {
        if (length == 0)
        {
            return true;
        }

        if (gpa > ulong.MaxValue - (ulong)length + 1)
        {
            return false;
        }

        var last = (gpa + (ulong)length - 1) >> Frame.Shift;
        for (var gfn = gpa >> Frame.Shift; gfn <= last; gfn++)
        {
            var entry = Domain.P2m.Lookup(gfn);
            var allowed = entry.Type switch
            {
                P2mType.Ram or P2mType.Foreign => true,
                P2mType.RamReadOnly => !write,
                _ => false,
            };
            if (!allowed || !Host.Machine.Memory.Contains(entry.Mfn))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The per-frame pieces of a guest range: machine frame, offset in it, bytes before it, bytes in it.</summary>
    private struct Pieces(P2m p2m, ulong gpa, int length)
    {
        private ulong _gfn = gpa >> Frame.Shift;
        private int _offset = (int)(gpa & (Frame.Size - 1));
        private int _done;

        public bool Next(out Mfn mfn, out int offset, out int done, out int count)
        {
            mfn = default;
            offset = _offset;
            done = _done;
            count = Math.Min(Frame.Size - _offset, length - _done);
            if (_done >= length)
            {
                return false;
            }

            mfn = p2m.Lookup(_gfn).Mfn;
            _gfn++;
            _offset = 0;
            _done += count;
            return true;
        }
    }
}
