namespace PvIommu.Platform.Pci;

/// <summary>
/// A bridge function and the bus numbers behind it: its secondary bus (the one directly
/// below) through its subordinate bus (the highest bus number anywhere below it).
/// </summary>
public sealed class PciBridge
{
    internal PciBridge(PciFunction function, byte secondaryBus, byte subordinateBus)
    {
        Function = function;
        SecondaryBus = secondaryBus;
        SubordinateBus = subordinateBus;
    }

    /// <summary>The bridge function itself.</summary>
    public PciFunction Function { get; }

    /// <summary>The bridge's address.</summary>
    public Sbdf Sbdf => Function.Sbdf;

    /// <summary>Root port, or PCIe-to-PCI bridge (the aliasing kind).</summary>
    public PciFunctionKind Kind => Function.Kind;

    /// <summary>The bus directly behind the bridge.</summary>
    public byte SecondaryBus { get; }

    /// <summary>The highest bus number behind the bridge.</summary>
    public byte SubordinateBus { get; }

    /// <summary>Whether <paramref name="bus"/> lies behind this bridge (on its segment).</summary>
    public bool Covers(byte bus) => bus >= SecondaryBus && bus <= SubordinateBus;

    /// <summary>Whether the bridge rewrites the requester ID of DMA from behind it.</summary>
    public bool Aliases => Kind == PciFunctionKind.PcieToPciBridge;

    /// <inheritdoc/>
    public override string ToString() => $"{Sbdf} {Kind} [{SecondaryBus:x2}-{SubordinateBus:x2}]";
}
