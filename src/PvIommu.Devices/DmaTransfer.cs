using PvIommu.Platform.Iommu;
using PvIommu.Platform.Pci;

namespace PvIommu.Devices;

/// <summary>One DMA request as a device put it on the bus, and what the IOMMU made of it.</summary>
/// <param name="Device">The requester (before any bridge aliasing).</param>
/// <param name="Access">Read (memory to device) or write (device to memory).</param>
/// <param name="BusAddress">The first byte's bus address (an IOVA under translation).</param>
/// <param name="Length">Bytes requested.</param>
/// <param name="Result">Done, or the fault that refused the whole request.</param>
public readonly record struct DmaTransfer(Sbdf Device, DmaAccess Access, ulong BusAddress, int Length, DmaResult Result);

/// <summary>
/// Sees every DMA request of a device as it happens: the hook a simulation uses to charge
/// modelled time per transfer. Devices keep no timing model of their own.
/// </summary>
public interface IDmaObserver
{
    /// <summary>Called once per request, after the IOMMU has answered it.</summary>
    void OnTransfer(in DmaTransfer transfer);
}
