using PvIommu.Platform.Memory;

namespace PvIommu.Platform.Pci;

/// <summary>
/// A reserved memory region of a device (a VT-d RMRR, or an AMD IVMD): a range its firmware
/// keeps using for DMA, so it stays mapped 1:1 (dfn = mfn) in whatever context the device is in.
/// </summary>
public readonly record struct ReservedRegion
{
    /// <summary>A region of <paramref name="frames"/> 4 KiB frames starting at <paramref name="start"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">no frames, or the range wraps past the top of the address space.</exception>
    /// <exception cref="ArgumentException">an empty name.</exception>
    public ReservedRegion(Dfn start, ulong frames, string name)
    {
        ArgumentOutOfRangeException.ThrowIfZero(frames);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        // Frame numbers of 64-bit addresses stop at 2^52.
        const ulong AddressSpaceFrames = 1UL << (64 - Frame.Shift);
        if (frames > AddressSpaceFrames || start.Value > AddressSpaceFrames - frames)
        {
            throw new ArgumentOutOfRangeException(nameof(frames), "region wraps past the top of the address space");
        }

        Start = start;
        Frames = frames;
        Name = name;
    }

    /// <summary>First frame (bus frame and machine frame alike: the mapping is 1:1).</summary>
    public Dfn Start { get; }

    /// <summary>Number of 4 KiB frames.</summary>
    public ulong Frames { get; }

    /// <summary>The firmware's name for it (for reports).</summary>
    public string Name { get; }

    /// <summary>The first frame after the region.</summary>
    public Dfn End => Start + Frames;

    /// <summary>Whether <paramref name="dfn"/> lies inside the region.</summary>
    public bool Contains(Dfn dfn) => dfn >= Start && dfn.Value - Start.Value < Frames;

    /// <summary>Whether the <paramref name="count"/> frames from <paramref name="first"/> touch the region.</summary>
    public bool Overlaps(Dfn first, ulong count) =>
        count != 0 && first < End && (Start <= first || Start.Value - first.Value < count);

    /// <inheritdoc/>
    public override string ToString() => $"{Name} [{Start}, +{Frames})";
}
