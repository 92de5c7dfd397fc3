namespace PvIommu.Platform.Iommu;

/// <summary>
/// Why the IOMMU refused a DMA. The numbers are the wire protocol's fault reasons
/// (docs/wire-protocol.md, "Device DMA"); they are this project's, not a hardware encoding
/// (VT-d fault records and AMD-Vi events use their own reason codes and event types).
/// </summary>
public enum FaultReason : uint
{
    /// <summary>No fault: the access was translated.</summary>
    None = 0,

    /// <summary>No present leaf maps the address, or the leaf's frame is not host memory.</summary>
    NotMapped = 1,

    /// <summary>A device read (DMA from memory) hit a mapping without read permission.</summary>
    ReadNotPermitted = 2,

    /// <summary>A device write (DMA to memory) hit a mapping without write permission.</summary>
    WriteNotPermitted = 3,

    /// <summary>The requester has no usable context entry: its DMA is blocked.</summary>
    Blocked = 4,

    /// <summary>The address is above what the context's page table covers (48 or 57 bits).</summary>
    BeyondWidth = 5,
}
