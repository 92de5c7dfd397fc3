using PvIommu.Platform.Iommu;

namespace PvIommu.Devices;

/// <summary>
/// What one device's DMA engine has done, counted per request it put on the bus: the
/// simulation's cost hook (bytes and transfers turn into modelled time there, not here).
/// </summary>
/// <remarks>
/// Directions are the device's: a read moves memory into the device, a write moves device
/// data into memory. A refused request counts as a transfer and a fault but moves no bytes, so
/// <c>Transfers = successful + Faults</c> and the byte counts hold only bytes that moved.
/// </remarks>
/// <param name="ReadTransfers">DMA read requests issued, refused ones included.</param>
/// <param name="WriteTransfers">DMA write requests issued, refused ones included.</param>
/// <param name="BytesRead">Bytes read from memory by requests that completed.</param>
/// <param name="BytesWritten">Bytes written to memory by requests that completed.</param>
/// <param name="ReadFaults">Read requests the IOMMU refused.</param>
/// <param name="WriteFaults">Write requests the IOMMU refused.</param>
/// <param name="LastFault">The most recent refusal (<see cref="DmaResult.Ok"/> when there was none).</param>
public readonly record struct DeviceCounters(
    long ReadTransfers,
    long WriteTransfers,
    long BytesRead,
    long BytesWritten,
    long ReadFaults,
    long WriteFaults,
    DmaResult LastFault)
{
    /// <summary>Every request issued, in both directions.</summary>
    public long Transfers => ReadTransfers + WriteTransfers;

    /// <summary>Every refused request, in both directions.</summary>
    public long Faults => ReadFaults + WriteFaults;

    /// <summary>Every byte moved, in both directions.</summary>
    public long Bytes => BytesRead + BytesWritten;
}
