using PvIommu.Platform.Iommu;

namespace PvIommu.Devices.Rogue;

/// <summary>What a rogue device's target is, from the attacker's point of view.</summary>
public enum RogueTargetKind : byte
{
    /// <summary>Memory of a domain the device is not assigned to.</summary>
    OtherDomain,

    /// <summary>Frames the hypervisor keeps for itself (page tables, arenas, its own data).</summary>
    Hypervisor,

    /// <summary>Pages the device's domain once mapped for it and has since freed or unmapped.</summary>
    FreedPage,

    /// <summary>Bus addresses nothing was ever mapped at.</summary>
    Unmapped,
}

/// <summary>A range of bus addresses a rogue device aims at.</summary>
/// <param name="Kind">Why it is a target (for the tally).</param>
/// <param name="BusAddress">First bus address.</param>
/// <param name="Length">Bytes in the range (at least 1).</param>
public readonly record struct RogueTarget(RogueTargetKind Kind, ulong BusAddress, ulong Length = 4096)
{
    /// <summary>One 4 KiB frame per address in <paramref name="frameAddresses"/>, all of <paramref name="kind"/>.</summary>
    public static IEnumerable<RogueTarget> Frames(RogueTargetKind kind, IEnumerable<ulong> frameAddresses) =>
        frameAddresses.Select(a => new RogueTarget(kind, a));
}

/// <summary>One DMA a rogue device attempted.</summary>
/// <param name="Sequence">Its number, from 0, in the device's order.</param>
/// <param name="Target">The target it aimed at.</param>
/// <param name="Access">Read (stealing) or write (corrupting).</param>
/// <param name="BusAddress">The address it used, inside the target.</param>
/// <param name="Length">Bytes it asked for.</param>
/// <param name="Result">What the IOMMU did: ok is a breach.</param>
public readonly record struct RogueAttempt(long Sequence, RogueTarget Target, DmaAccess Access, ulong BusAddress, int Length, DmaResult Result)
{
    /// <summary>Whether the DMA got through.</summary>
    public bool Breached => Result.IsOk;
}

/// <summary>Attempts against one kind of target.</summary>
/// <param name="Attempts">DMA requests issued.</param>
/// <param name="Breaches">Requests that got through.</param>
/// <param name="Faults">Requests the IOMMU refused.</param>
public readonly record struct RogueTally(long Attempts, long Breaches, long Faults);
