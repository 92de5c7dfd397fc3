using System.Buffers.Binary;
using System.Numerics;
using PvIommu.Platform.Iommu;
using PvIommu.Platform.Pci;

namespace PvIommu.Devices;

/// <summary>
/// A device's bus-mastering engine: the one way a device model reaches memory. It issues
/// requests through an <see cref="IDmaPort"/> (the <see cref="Machine"/>, so the IOMMU checks
/// every one), counts them, and hands each to the <see cref="Observer"/>. Faults are values:
/// they are counted and returned, never thrown.
/// </summary>
/// <remarks>
/// With <see cref="MaxPayload"/> set, a transfer is cut into requests that never cross a
/// MaxPayload-aligned boundary, as PCIe cuts DMA into TLPs of at most Max_Payload_Size (writes)
/// or Max_Read_Request_Size (reads); a fault then stops the transfer after the requests that
/// already completed, whose bytes stay moved. With 0 (the default) a transfer is one request
/// and all-or-nothing. Not thread-safe: the simulation drives a device from one thread.
/// </remarks>
public sealed class DmaEngine
{
    private readonly IDmaPort _port;
    private long _readTransfers;
    private long _writeTransfers;
    private long _bytesRead;
    private long _bytesWritten;
    private long _readFaults;
    private long _writeFaults;
    private DmaResult _lastFault;
    private int _maxPayload;

    /// <summary>An engine that issues DMA as <paramref name="requester"/> through <paramref name="port"/>.</summary>
    public DmaEngine(IDmaPort port, Sbdf requester)
    {
        ArgumentNullException.ThrowIfNull(port);
        _port = port;
        Requester = requester;
    }

    /// <summary>The requester ID the device's DMA carries.</summary>
    public Sbdf Requester { get; }

    /// <summary>Largest request in bytes, a power of two from 64 to 4096; 0 issues each transfer as one request.</summary>
    /// <exception cref="ArgumentOutOfRangeException">not 0 and not a power of two in range.</exception>
    public int MaxPayload
    {
        get => _maxPayload;
        set
        {
            if (value != 0 && (value < 64 || value > 4096 || !BitOperations.IsPow2(value)))
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "a power of two from 64 to 4096, or 0");
            }

            _maxPayload = value;
        }
    }

    /// <summary>Sees every request (the simulation's cost hook); null for none.</summary>
    public IDmaObserver? Observer { get; set; }

    /// <summary>The counts so far.</summary>
    public DeviceCounters Counters => new(
        _readTransfers, _writeTransfers, _bytesRead, _bytesWritten, _readFaults, _writeFaults, _lastFault);

    /// <summary>Reads memory at <paramref name="busAddress"/> into <paramref name="destination"/>.</summary>
    /// <returns>Ok, or the first fault (requests before it, under <see cref="MaxPayload"/>, completed).</returns>
    public DmaResult Read(ulong busAddress, Span<byte> destination)
    {
        var done = 0;
        while (done < destination.Length)
        {
            var address = busAddress + (ulong)done;
            var piece = destination.Slice(done, PieceLength(address, destination.Length - done));
            var result = _port.Read(Requester, address, piece);
            _readTransfers++;
            if (result.IsOk)
            {
                _bytesRead += piece.Length;
            }
            else
            {
                _readFaults++;
                _lastFault = result;
            }

            Observer?.OnTransfer(new DmaTransfer(Requester, DmaAccess.Read, address, piece.Length, result));
            if (!result.IsOk)
            {
                return result;
            }

            done += piece.Length;
        }

        return DmaResult.Ok;
    }

    /// <summary>Writes <paramref name="source"/> to memory at <paramref name="busAddress"/>.</summary>
    /// <returns>Ok, or the first fault (requests before it, under <see cref="MaxPayload"/>, completed).</returns>
    public DmaResult Write(ulong busAddress, ReadOnlySpan<byte> source)
    {
        var done = 0;
        while (done < source.Length)
        {
            var address = busAddress + (ulong)done;
            var piece = source.Slice(done, PieceLength(address, source.Length - done));
            var result = _port.Write(Requester, address, piece);
            _writeTransfers++;
            if (result.IsOk)
            {
                _bytesWritten += piece.Length;
            }
            else
            {
                _writeFaults++;
                _lastFault = result;
            }

            Observer?.OnTransfer(new DmaTransfer(Requester, DmaAccess.Write, address, piece.Length, result));
            if (!result.IsOk)
            {
                return result;
            }

            done += piece.Length;
        }

        return DmaResult.Ok;
    }

    /// <summary>Reads one little-endian 64-bit word (a PRP entry, a descriptor's buffer address).</summary>
    public DmaResult ReadUInt64(ulong busAddress, out ulong value)
    {
        Span<byte> bytes = stackalloc byte[sizeof(ulong)];
        var result = Read(busAddress, bytes);
        value = result.IsOk ? BinaryPrimitives.ReadUInt64LittleEndian(bytes) : 0;
        return result;
    }

    private int PieceLength(ulong address, int remaining)
    {
        if (_maxPayload == 0)
        {
            return remaining;
        }

        var toBoundary = _maxPayload - (int)(address & (ulong)(_maxPayload - 1));
        return Math.Min(toBoundary, remaining);
    }
}
