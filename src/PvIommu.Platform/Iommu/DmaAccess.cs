namespace PvIommu.Platform.Iommu;

/// <summary>The direction of a DMA, from the device's point of view.</summary>
public enum DmaAccess : byte
{
    /// <summary>The device reads memory (a DMA read: memory to device).</summary>
    Read = 0,

    /// <summary>The device writes memory (a DMA write: device to memory).</summary>
    Write = 1,
}
