namespace PvIommu.Platform.Pci;

/// <summary>
/// One PCI function of the host: its address, what kind of function it is, and the DMA facts
/// the IOMMU needs (phantom functions, reserved regions).
/// </summary>
/// <remarks>
/// Phantom functions (PCIe Base Specification, "Phantom Functions"): a device that needs more
/// outstanding tags than one function number allows borrows the unclaimed function numbers
/// after its own and puts them in the requester ID of its DMA. The IOMMU sees those IDs as
/// separate requesters, so the device's context must be programmed for each of them.
/// </remarks>
public sealed class PciFunction
{
    private readonly ReservedRegion[] _reserved;

    /// <summary>Describes a function.</summary>
    /// <param name="sbdf">Its address.</param>
    /// <param name="kind">Endpoint, PCIe-to-PCI bridge or root port.</param>
    /// <param name="classDescription">A human-readable class ("Ethernet controller").</param>
    /// <param name="phantomFunctions">How many function numbers after its own it also uses as requester IDs (0–7).</param>
    /// <param name="reservedRegions">Its reserved memory regions (RMRR), pairwise disjoint.</param>
    /// <exception cref="ArgumentOutOfRangeException">phantom functions that would run past function 7.</exception>
    /// <exception cref="ArgumentException">an empty class, or overlapping reserved regions.</exception>
    public PciFunction(
        Sbdf sbdf,
        PciFunctionKind kind,
        string classDescription,
        int phantomFunctions = 0,
        IEnumerable<ReservedRegion>? reservedRegions = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(classDescription);
        if (!Enum.IsDefined(kind))
        {
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown function kind");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(phantomFunctions);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(phantomFunctions, 7 - sbdf.Function, nameof(phantomFunctions));
        Sbdf = sbdf;
        Kind = kind;
        ClassDescription = classDescription;
        PhantomFunctions = phantomFunctions;
        _reserved = reservedRegions?.ToArray() ?? [];
        CheckDisjoint(_reserved);
    }

    /// <summary>The function's address.</summary>
    public Sbdf Sbdf { get; }

    /// <summary>What kind of function this is.</summary>
    public PciFunctionKind Kind { get; }

    /// <summary>Whether the function is a bridge (root port or PCIe-to-PCI bridge).</summary>
    public bool IsBridge => Kind != PciFunctionKind.Endpoint;

    /// <summary>A human-readable class description.</summary>
    public string ClassDescription { get; }

    /// <summary>How many function numbers after its own the device also issues DMA with.</summary>
    public int PhantomFunctions { get; }

    /// <summary>The device's reserved memory regions (RMRR), in the order given.</summary>
    public IReadOnlyList<ReservedRegion> ReservedRegions => _reserved;

    /// <summary>
    /// The requester IDs the function itself puts on the link: its own, then one per phantom
    /// function (fn+1 .. fn+<see cref="PhantomFunctions"/>). A bridge upstream may replace
    /// them: <see cref="PciTopology.RequesterIds"/> gives what reaches the IOMMU.
    /// </summary>
    public Sbdf[] OwnRequesterIds()
    {
        var ids = new Sbdf[1 + PhantomFunctions];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = Sbdf.WithFunction((byte)(Sbdf.Function + i));
        }

        return ids;
    }

    /// <summary>Whether <paramref name="requesterId"/> is this function or one of its phantom functions.</summary>
    public bool Issues(Sbdf requesterId) =>
        requesterId.Segment == Sbdf.Segment && requesterId.Bus == Sbdf.Bus && requesterId.Device == Sbdf.Device
        && requesterId.Function >= Sbdf.Function && requesterId.Function <= Sbdf.Function + PhantomFunctions;

    /// <inheritdoc/>
    public override string ToString() => $"{Sbdf} {Kind} ({ClassDescription})";

    private static void CheckDisjoint(ReservedRegion[] regions)
    {
        for (var i = 0; i < regions.Length; i++)
        {
            for (var j = i + 1; j < regions.Length; j++)
            {
                if (regions[i].Overlaps(regions[j].Start, regions[j].Frames))
                {
                    throw new ArgumentException($"reserved regions {regions[i]} and {regions[j]} overlap", nameof(regions));
                }
            }
        }
    }
}
