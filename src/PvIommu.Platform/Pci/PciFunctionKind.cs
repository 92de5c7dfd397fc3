namespace PvIommu.Platform.Pci;

/// <summary>What a PCI function is, as far as DMA requester IDs are concerned.</summary>
public enum PciFunctionKind
{
    /// <summary>A device that does DMA (PCIe endpoint, or a conventional PCI device on a bus behind a PCIe-to-PCI bridge).</summary>
    Endpoint,

    /// <summary>
    /// A PCIe-to-PCI (or PCI-X) bridge: it forwards its conventional devices' DMA upstream under
    /// its own requester ID, so every device behind it aliases to it.
    /// </summary>
    PcieToPciBridge,

    /// <summary>A PCIe root port (or switch port): requester IDs pass through it unchanged.</summary>
    RootPort,
}
