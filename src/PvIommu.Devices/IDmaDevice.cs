using PvIommu.Platform.Pci;

namespace PvIommu.Devices;

/// <summary>A PCI function that does DMA: what every simulated device shows the simulation.</summary>
public interface IDmaDevice
{
    /// <summary>The function's address (its DMA carries this requester ID).</summary>
    Sbdf Sbdf { get; }

    /// <summary>The device's DMA engine: counters and the per-transfer hook.</summary>
    DmaEngine Dma { get; }
}
