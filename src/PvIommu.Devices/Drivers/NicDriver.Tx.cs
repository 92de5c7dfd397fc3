using PvIommu.Devices.Network;

namespace PvIommu.Devices.Drivers;

public sealed partial class NicDriver
{
    private const int PageSize = 4096;
    private int _txNextToUse;
    private int _txNextToClean;
    private int _txInFlight;
    private long _txPackets;
    private long _txFragmentCount;
    private long _txCompletions;
    private long _txBusy;
    private long _txMapFailures;

    /// <summary>
    /// Queues one frame: copies it into fresh pages (a header fragment first when
    /// <see cref="NicDriverOptions.TxHeaderBytes"/> is set, then up to 4 KiB per fragment), maps
    /// each fragment, posts the descriptors and writes TDT.
    /// </summary>
    /// <returns>False when the ring has no room or a page or mapping was refused (nothing is then posted).</returns>
    /// <exception cref="ArgumentException">an empty frame or one above <see cref="Nic.MaxTxFrame"/>.</exception>
    public bool TryTransmit(ReadOnlySpan<byte> frame)
    {
        if (frame.IsEmpty || frame.Length > Nic.MaxTxFrame)
        {
            throw new ArgumentException($"a frame has 1 to {Nic.MaxTxFrame} bytes", nameof(frame));
        }

        if (_stopped)
        {
            return false;
        }

        var header = Options.TxHeaderBytes > 0 && frame.Length > Options.TxHeaderBytes ? Options.TxHeaderBytes : 0;
        var count = (header > 0 ? 1 : 0) + ((frame.Length - header + PageSize - 1) / PageSize);
        if (count > _txFragments.Length - 1 - _txInFlight)
        {
            _txBusy++;
            return false;
        }

        Span<(ulong Page, ulong Iova)> fragments = new (ulong, ulong)[count];
        for (int i = 0, offset = 0; i < count; i++)
        {
            var length = i == 0 && header > 0 ? header : Math.Min(PageSize, frame.Length - offset);
            if (!TryMapFragment(frame.Slice(offset, length), out fragments[i]))
            {
                foreach (var mapped in fragments[..i])
                {
                    ReleaseFragment(mapped);
                }

                _txMapFailures++;
                return false;
            }

            offset += length;
        }

        Post(frame, header, fragments);
        return true;
    }

    /// <summary>Unmaps and frees every fragment whose descriptor the NIC has marked DD, in ring order.</summary>
    /// <returns>Fragments reaped.</returns>
    public int ReapTransmit()
    {
        var reaped = 0;
        Span<byte> raw = stackalloc byte[TxDescriptor.Size];
        while (!_stopped && _txFragments[_txNextToClean] is { } fragment)
        {
            _txRing.Read(_txNextToClean * TxDescriptor.Size, raw);
            if (!TxDescriptor.Read(raw).IsDone)
            {
                break;
            }

            ReleaseFragment(fragment);
            _txFragments[_txNextToClean] = null;
            _txNextToClean = RingIndex.Next(_txNextToClean, _txFragments.Length);
            _txInFlight--;
            _txCompletions++;
            reaped++;
        }

        return reaped;
    }

    private bool TryMapFragment(ReadOnlySpan<byte> bytes, out (ulong Page, ulong Iova) fragment)
    {
        fragment = default;
        if (!_environment.TryAllocatePage(out var page))
        {
            return false;
        }

        _environment.Write(page, bytes);
        if (!_environment.TryMap([page], DmaDirection.ToDevice, out var iova))
        {
            _environment.FreePage(page);
            return false;
        }

        fragment = (page, iova);
        return true;
    }

    private void Post(ReadOnlySpan<byte> frame, int header, ReadOnlySpan<(ulong Page, ulong Iova)> fragments)
    {
        Span<byte> raw = stackalloc byte[TxDescriptor.Size];
        for (int i = 0, offset = 0; i < fragments.Length; i++)
        {
            var length = i == 0 && header > 0 ? header : Math.Min(PageSize, frame.Length - offset);
            var command = TxCommand.ReportStatus | (i == fragments.Length - 1 ? TxCommand.EndOfPacket : TxCommand.None);
            new TxDescriptor(fragments[i].Iova, (ushort)length, command, TxStatus.None).Write(raw);
            _txRing.Write(_txNextToUse * TxDescriptor.Size, raw);
            _txFragments[_txNextToUse] = fragments[i];
            _txNextToUse = RingIndex.Next(_txNextToUse, _txFragments.Length);
            offset += length;
        }

        _txInFlight += fragments.Length;
        _txFragmentCount += fragments.Length;
        _txPackets++;
        _nic.WriteTxTail(_txNextToUse);
    }

    private void ReleaseFragment((ulong Page, ulong Iova) fragment)
    {
        _environment.Unmap(fragment.Iova, 1, DmaDirection.ToDevice);
        _environment.FreePage(fragment.Page);
    }
}
