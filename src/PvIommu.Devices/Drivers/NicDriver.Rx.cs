using PvIommu.Devices.Network;

namespace PvIommu.Devices.Drivers;

public sealed partial class NicDriver
{
    /// <summary>Bytes the stack reads of a frame nobody asked to see whole: its headers (Ethernet, IP, TCP with options).</summary>
    private const int HeaderBytes = 128;

    /// <summary>Most receive descriptors read or written by one CPU access to the ring (a NAPI budget's worth).</summary>
    private const int RxRun = 64;

    private readonly byte[] _frame = new byte[4096];

    // A run of descriptors read (Poll) or written (Refill) at once, reused: a field, not a
    // stackalloc, because a method with a stackalloc and a loop is compiled once, fully optimised,
    // and never again with the profile the tiered JIT gathers. Poll is done with it before it
    // refills; a driver is not re-entered from its own poll.
    private readonly byte[] _rxRun = new byte[RxRun * RxDescriptor.Size];
    private int _rxNextToClean;
    private int _rxNextToUse;
    private int _rxPosted;
    private long _rxPackets;
    private long _rxBytes;
    private long _rxErrors;
    private long _rxRefillFailures;

    /// <summary>
    /// A NAPI poll: reaps up to <paramref name="budget"/> received frames in ring order, hands
    /// each to <paramref name="onFrame"/> (the stack), recycles or releases its page, refills
    /// the ring and writes RDT once. Without a handler the CPU reads only each frame's headers.
    /// </summary>
    /// <returns>Descriptors reaped (frames and RXE errors); fewer than the budget means the ring is drained.</returns>
    public int Poll(int budget, FrameHandler? onFrame)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(budget);
        if (_stopped)
        {
            return 0;
        }

        // Descriptors are read in runs (up to the budget and the ring's end), as the CPU streams
        // through a ring's cache lines; one read per run instead of one per descriptor.
        var reaped = 0;
        var run = _rxRun.AsSpan();
        var read = 0;
        var next = 0;
        while (reaped < budget && _rxPages[_rxNextToClean] is { } page)
        {
            if (next == read)
            {
                read = Math.Min(Math.Min(RxRun, budget - reaped), _rxPages.Length - _rxNextToClean);
                _rxRing.Read(_rxNextToClean * RxDescriptor.Size, run[..(read * RxDescriptor.Size)]);
                next = 0;
            }

            var descriptor = RxDescriptor.Read(run.Slice(next++ * RxDescriptor.Size, RxDescriptor.Size));
            if (!descriptor.IsDone)
            {
                break;
            }

            _rxPages[_rxNextToClean] = null;
            _rxPosted--;
            _rxNextToClean = RingIndex.Next(_rxNextToClean, _rxPages.Length);
            reaped++;
            if ((descriptor.Errors & RxErrors.RxDataError) != 0 || descriptor.Length > Options.RxBufferSize)
            {
                // Nothing usable arrived, so nothing reaches the stack: the page goes straight back.
                _rxErrors++;
                Pool.Recycle(page);
                continue;
            }

            Deliver(page, descriptor.Length, onFrame);
        }

        Refill();
        return reaped;
    }

    private void Deliver(PoolPage page, int length, FrameHandler? onFrame)
    {
        // The stack parses the headers; the payload stays in the page (zero copy) unless a handler wants the whole frame.
        var frame = _frame.AsSpan(0, onFrame is null ? Math.Min(length, HeaderBytes) : length);
        _environment.Read(page.Address, frame);
        onFrame?.Invoke(frame);
        _rxPackets++;
        _rxBytes += length;
        if (_random.Chance(Options.RecycleRate))
        {
            Pool.Recycle(page);
        }
        else
        {
            // The stack holds on to the page (a socket queue, a GRO merge): it leaves the pool.
            Pool.Release(page);
        }
    }

    /// <summary>
    /// Posts a pool page in every free slot but the one that keeps head and tail apart, then writes
    /// RDT. The descriptors are written in runs of consecutive slots (one write per run); the NIC
    /// reads none of them before RDT moves.
    /// </summary>
    private void Refill()
    {
        var posted = 0;
        var run = _rxRun.AsSpan();
        var first = _rxNextToUse;
        var pending = 0;
        while (_rxPosted < _rxPages.Length - 1)
        {
            if (!Pool.TryGet(out var page))
            {
                _rxRefillFailures++;
                break;
            }

            RxDescriptor.Posted(page.Iova).Write(run[(pending * RxDescriptor.Size)..]);
            pending++;
            _rxPages[_rxNextToUse] = page;
            _rxNextToUse = RingIndex.Next(_rxNextToUse, _rxPages.Length);
            _rxPosted++;
            posted++;
            if (pending == RxRun || _rxNextToUse == 0)
            {
                _rxRing.Write(first * RxDescriptor.Size, run[..(pending * RxDescriptor.Size)]);
                first = _rxNextToUse;
                pending = 0;
            }
        }

        if (pending > 0)
        {
            _rxRing.Write(first * RxDescriptor.Size, run[..(pending * RxDescriptor.Size)]);
        }

        if (posted > 0)
        {
            _nic.WriteRxTail(_rxNextToUse);
        }
    }
}
