using PvIommu.Platform.Pci;

namespace PvIommu.Platform.Iommu;

/// <summary>
/// The only way a device reaches memory: a DMA request carrying a requester ID and a bus
/// address, checked and translated by the IOMMU. A transfer is all or nothing: if any 4 KiB
/// piece of it faults, no byte moves and one fault is recorded.
/// </summary>
public interface IDmaPort
{
    /// <summary>The device reads memory at <paramref name="busAddress"/> into <paramref name="destination"/>.</summary>
    DmaResult Read(Sbdf requester, ulong busAddress, Span<byte> destination);

    /// <summary>The device writes <paramref name="source"/> to memory at <paramref name="busAddress"/>.</summary>
    DmaResult Write(Sbdf requester, ulong busAddress, ReadOnlySpan<byte> source);
}
