using PvIommu.Platform.Pci;

namespace PvIommu.Simulation.Scenarios;

/// <summary>What one device does during the run; the subtypes are the workload kinds.</summary>
/// <param name="Device">The device that does it.</param>
/// <param name="Line">Where its section starts in the file.</param>
public abstract record WorkloadSpec(Sbdf Device, int Line)
{
    /// <summary>The kind's name in scenario files ("nic-rx", "nvme", "bulk", "rogue").</summary>
    public abstract string Kind { get; }

    /// <summary>An unmap policy for this device alone, overriding the driver's.</summary>
    public UnmapMode? Policy { get; init; }
}

/// <summary>
/// A NIC receiving at a line rate into a page pool (Linux page_pool): pages are mapped once and
/// recycled; a page that is not recycled is unmapped and a new one mapped.
/// </summary>
/// <param name="Device">The NIC.</param>
/// <param name="Line">Where the section starts.</param>
public sealed record NicRxSpec(Sbdf Device, int Line) : WorkloadSpec(Device, Line)
{
    /// <inheritdoc/>
    public override string Kind => "nic-rx";

    /// <summary>Line rate in bits per second.</summary>
    public double LineRateBitsPerSecond { get; init; } = 10e9;

    /// <summary>Frame size in bytes (a fixed size, or the mean of a mix around it).</summary>
    public int FrameBytes { get; init; } = 1500;

    /// <summary>Receive descriptors.</summary>
    public int Ring { get; init; } = 256;

    /// <summary>Frames per NAPI poll (the refill batch).</summary>
    public int Napi { get; init; } = 64;

    /// <summary>Share of pages recycled without an unmap (page_pool's hit rate).</summary>
    public double Recycle { get; init; } = 0.8;

    /// <summary>Receive buffer size in bytes.</summary>
    public int BufferBytes { get; init; } = 4096;

    /// <summary>Receive descriptors the NIC writes back in one burst (<c>Nic.RxWriteBackThreshold</c>); 1 writes each back as its frame lands.</summary>
    public int WriteBack { get; init; } = 1;
}

/// <summary>An NVMe-like controller with a queue depth and a block-size mix; one map per I/O.</summary>
/// <param name="Device">The controller.</param>
/// <param name="Line">Where the section starts.</param>
public sealed record NvmeSpec(Sbdf Device, int Line) : WorkloadSpec(Device, Line)
{
    /// <inheritdoc/>
    public override string Kind => "nvme";

    /// <summary>I/Os per second.</summary>
    public double Iops { get; init; } = 100_000;

    /// <summary>I/Os in flight.</summary>
    public int QueueDepth { get; init; } = 32;

    /// <summary>Block sizes in bytes with their weights.</summary>
    public IReadOnlyList<(int Bytes, double Weight)> BlockSizes { get; init; } = [(4096, 1)];

    /// <summary>Share of reads (device to memory).</summary>
    public double ReadFraction { get; init; } = 0.7;
}

/// <summary>Who maps for a bulk-copy device.</summary>
public enum BulkDriver
{
    /// <summary>The kernel's DMA API (map per transfer).</summary>
    DmaApi,

    /// <summary>A VFIO-style user-space driver: it maps its buffer once, at IOVAs it picks.</summary>
    Vfio,
}

/// <summary>Bulk transfers by a GPU-like copy engine.</summary>
/// <param name="Device">The copier.</param>
/// <param name="Line">Where the section starts.</param>
public sealed record BulkSpec(Sbdf Device, int Line) : WorkloadSpec(Device, Line)
{
    /// <inheritdoc/>
    public override string Kind => "bulk";

    /// <summary>Who maps.</summary>
    public BulkDriver Driver { get; init; } = BulkDriver.Vfio;

    /// <summary>The buffer the transfers go between, in bytes.</summary>
    public ulong BufferBytes { get; init; } = 16UL << 20;

    /// <summary>Bytes per transfer.</summary>
    public ulong TransferBytes { get; init; } = 1UL << 20;

    /// <summary>Bytes per second.</summary>
    public double BytesPerSecond { get; init; } = 4e9;

    /// <summary>The copy engine's chunk (its largest DMA request).</summary>
    public int ChunkBytes { get; init; } = 64 * 1024;

    /// <summary>VFIO: the IOVA the user maps its buffer at.</summary>
    public ulong Iova { get; init; } = 1UL << 32;
}

/// <summary>The kinds of target a rogue device aims at.</summary>
[Flags]
public enum RogueTargets
{
    /// <summary>None.</summary>
    None = 0,

    /// <summary>Another domain's RAM (by machine address).</summary>
    OtherDomain = 1,

    /// <summary>The hypervisor's frames (page tables in the arena).</summary>
    Hypervisor = 2,

    /// <summary>IOVAs its own driver mapped and then unmapped (use after unmap).</summary>
    FreedPage = 4,

    /// <summary>Addresses nothing was ever mapped at.</summary>
    Unmapped = 8,

    /// <summary>Every kind.</summary>
    All = OtherDomain | Hypervisor | FreedPage | Unmapped,
}

/// <summary>A malicious device: its driver maps one buffer and it aims DMA everywhere else.</summary>
/// <param name="Device">The device.</param>
/// <param name="Line">Where the section starts.</param>
public sealed record RogueSpec(Sbdf Device, int Line) : WorkloadSpec(Device, Line)
{
    /// <inheritdoc/>
    public override string Kind => "rogue";

    /// <summary>Attempts per second.</summary>
    public double AttemptsPerSecond { get; init; } = 20_000;

    /// <summary>What it aims at.</summary>
    public RogueTargets Targets { get; init; } = RogueTargets.All;
}
