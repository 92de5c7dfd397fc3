namespace PvIommu.Devices.Nvme;

/// <summary>The shape of a simulated NVMe controller and its one namespace.</summary>
public sealed record NvmeOptions
{
    /// <summary>Logical block size in bytes: 512 or 4096.</summary>
    public int BlockSize { get; init; } = 512;

    /// <summary>Logical blocks in namespace 1 (default 1 GiB of 512-byte blocks; the media is sparse).</summary>
    public ulong BlockCount { get; init; } = 1UL << 21;

    /// <summary>MDTS in bytes: the largest transfer one command may move (default 128 KiB, MDTS = 5 with 4 KiB pages).</summary>
    public int MaxTransferBytes { get; init; } = 128 * 1024;

    /// <summary>Most I/O queue pairs (ids 1..this).</summary>
    public int MaxQueues { get; init; } = 64;

    /// <summary>MQES + 1: the most entries a queue may have.</summary>
    public int MaxQueueEntries { get; init; } = 4096;

    /// <summary>The defaults.</summary>
    public static NvmeOptions Default { get; } = new();

    /// <summary>Throws when a field is out of range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">a bad block size, an empty namespace, an MDTS that is not a multiple of 4 KiB from 4 KiB to 32 MiB, or bad queue limits.</exception>
    public void Validate()
    {
        if (BlockSize is not (512 or 4096))
        {
            throw new ArgumentOutOfRangeException(nameof(BlockSize), BlockSize, "512 or 4096");
        }

        ArgumentOutOfRangeException.ThrowIfZero(BlockCount);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(BlockCount, ulong.MaxValue / (ulong)BlockSize);
        if (MaxTransferBytes < NvmeController.PageSize || MaxTransferBytes > 32 << 20 || MaxTransferBytes % NvmeController.PageSize != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxTransferBytes), MaxTransferBytes, "a multiple of 4 KiB from 4 KiB to 32 MiB");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(MaxQueues, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxQueues, ushort.MaxValue);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxQueueEntries, 2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxQueueEntries, 65536);
    }
}
