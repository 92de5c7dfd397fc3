using System.Buffers;
using System.Runtime.CompilerServices;
using PvIommu.Platform.Memory;
using PvIommu.Platform.Pci;

namespace PvIommu.Platform.Iommu;

/// <summary>DMA through the unit: translate every piece first, then move the bytes.</summary>
/// <remarks>
/// A transfer is cut into the 4 KiB frames it touches. All of them are translated before a
/// byte moves, so a transfer that faults anywhere reads or writes nothing and records one
/// fault, at the first refused piece.
/// <para>
/// <see cref="Read"/> and <see cref="Write"/> keep their frame list in a local
/// (<see cref="FrameList"/>), not a stackalloc: a method with a stackalloc and a loop is compiled
/// once, fully optimised, and never again with the profile the tiered JIT gathers, and these are
/// the hottest methods of every DMA. They are never inlined: each already inlines the
/// translation, and a device's loop that inlined them as well (the NIC's receive loop did) grew
/// past the registers it has and spilled on every frame, 5 % slower in the replay.
/// </para>
/// </remarks>
public sealed partial class IommuUnit
{
    /// <summary>Transfers of up to this many pieces keep their frame list on the stack.</summary>
    private const int StackPieces = 32;

    /// <summary>The frame list of a transfer of up to <see cref="StackPieces"/> pieces, held in a local.</summary>
    [InlineArray(StackPieces)]
    private struct FrameList
    {
        private ulong _first;
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.NoInlining)]
    [SkipLocalsInit] // the frame list is written by TranslateAll before it is read
    public DmaResult Read(Sbdf requester, ulong busAddress, Span<byte> destination)
    {
        if (destination.IsEmpty)
        {
            return DmaResult.Ok;
        }

        var pieces = PieceCount(busAddress, destination.Length);
        ulong[]? rented = null;
        Unsafe.SkipInit(out FrameList local);
        Span<ulong> frames = pieces <= StackPieces ? local : (rented = ArrayPool<ulong>.Shared.Rent(pieces));
        try
        {
            var result = TranslateAll(requester, busAddress, DmaAccess.Read, frames[..pieces]);
            if (result.IsOk)
            {
                var offset = (int)(busAddress & (Frame.Size - 1));
                for (int i = 0, done = 0; done < destination.Length; i++, offset = 0)
                {
                    var length = Math.Min(Frame.Size - offset, destination.Length - done);
                    _memory.Read(new Mfn(frames[i]), offset, destination.Slice(done, length));
                    done += length;
                }
            }

            return result;
        }
        finally
        {
            ReturnFrames(rented);
        }
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.NoInlining)]
    [SkipLocalsInit] // the frame list is written by TranslateAll before it is read
    public DmaResult Write(Sbdf requester, ulong busAddress, ReadOnlySpan<byte> source)
    {
        if (source.IsEmpty)
        {
            return DmaResult.Ok;
        }

        var pieces = PieceCount(busAddress, source.Length);
        ulong[]? rented = null;
        Unsafe.SkipInit(out FrameList local);
        Span<ulong> frames = pieces <= StackPieces ? local : (rented = ArrayPool<ulong>.Shared.Rent(pieces));
        try
        {
            var result = TranslateAll(requester, busAddress, DmaAccess.Write, frames[..pieces]);
            if (result.IsOk)
            {
                var offset = (int)(busAddress & (Frame.Size - 1));
                for (int i = 0, done = 0; done < source.Length; i++, offset = 0)
                {
                    var length = Math.Min(Frame.Size - offset, source.Length - done);
                    _memory.Write(new Mfn(frames[i]), offset, source.Slice(done, length));
                    done += length;
                }
            }

            return result;
        }
        finally
        {
            ReturnFrames(rented);
        }
    }

    private static int PieceCount(ulong busAddress, int length) =>
        (int)(((busAddress & (Frame.Size - 1)) + (ulong)length + (Frame.Size - 1)) >> Frame.Shift);

    private static void ReturnFrames(ulong[]? rented)
    {
        if (rented is not null)
        {
            ArrayPool<ulong>.Shared.Return(rented);
        }
    }

    /// <summary>Translates every piece into <paramref name="frames"/>; on the first refusal records one fault and stops.</summary>
    private DmaResult TranslateAll(Sbdf requester, ulong busAddress, DmaAccess access, Span<ulong> frames)
    {
        var context = ContextFor(requester);
        var firstDfn = busAddress >> Frame.Shift;
        for (var i = 0; i < frames.Length; i++)
        {
            var reason = TranslateFrame(context, firstDfn + (ulong)i, access, out var leaf);
            if (reason != FaultReason.None)
            {
                var address = i == 0 ? busAddress : (firstDfn + (ulong)i) << Frame.Shift;
                _faults++;
                Faults.Record(requester, address, access, reason);
                return DmaResult.Fault(reason, address);
            }

            frames[i] = leaf.Mfn.Value;
        }

        return DmaResult.Ok;
    }
}
