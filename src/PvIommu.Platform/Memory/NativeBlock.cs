using System.Runtime.InteropServices;

namespace PvIommu.Platform.Memory;

/// <summary>
/// Zero-filled native memory for machine-memory chunks: 4 KiB-aligned from <c>calloc</c>, or, when
/// huge pages are asked for on Linux, a 2 MiB-aligned anonymous mapping advised
/// <c>MADV_HUGEPAGE</c>, so that the kernel backs it with transparent huge pages where it can.
/// </summary>
/// <remarks>
/// Both kinds are backed lazily: a page the simulation never writes costs nothing. A huge page is
/// backed whole on its first write (2 MiB of resident memory at once), which is why huge pages
/// are asked for, not the default. Where the kernel has transparent huge pages off, or is not
/// Linux, the advice changes nothing and the block is backed in 4 KiB pages.
/// </remarks>
internal static unsafe partial class NativeBlock
{
    /// <summary>The alignment (and the transparent huge page size on x86-64 and arm64 Linux).</summary>
    public const long HugeBytes = 2L << 20;

    private const int ProtReadWrite = 0x1 | 0x2;
    private const int MapPrivateAnonymous = 0x02 | 0x20;
    private const int MadvHugePage = 14;

    /// <summary>Reserves <paramref name="bytes"/> of zeroes; returns the allocation (for <see cref="Free"/>) and its aligned start.</summary>
    /// <exception cref="InsufficientMemoryException">the system refused the mapping.</exception>
    public static nint Allocate(long bytes, bool huge, out nint start)
    {
        if (huge && OperatingSystem.IsLinux())
        {
            var mapping = Mmap(0, (nuint)(bytes + HugeBytes), ProtReadWrite, MapPrivateAnonymous, -1, 0);
            if (mapping == -1)
            {
                throw new InsufficientMemoryException($"mmap of {bytes + HugeBytes} bytes for machine memory was refused");
            }

            start = (mapping + (nint)HugeBytes - 1) & ~(nint)(HugeBytes - 1);

            // Advice only: with transparent huge pages off the block is backed in 4 KiB pages.
            _ = Madvise(start, (nuint)bytes, MadvHugePage);
            return mapping;
        }

        var allocation = (nint)NativeMemory.AllocZeroed((nuint)(bytes + Frame.Size));
        start = (allocation + Frame.Size - 1) & ~(nint)(Frame.Size - 1);
        return allocation;
    }

    /// <summary>Returns a block <see cref="Allocate"/> gave with the same <paramref name="bytes"/> and <paramref name="huge"/>.</summary>
    public static void Free(nint allocation, long bytes, bool huge)
    {
        if (huge && OperatingSystem.IsLinux())
        {
            _ = Munmap(allocation, (nuint)(bytes + HugeBytes));
        }
        else
        {
            NativeMemory.Free((void*)allocation);
        }
    }

    [LibraryImport("libc", EntryPoint = "mmap")]
    private static partial nint Mmap(nint address, nuint length, int protection, int flags, int fd, nint offset);

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(nint address, nuint length, int advice);

    [LibraryImport("libc", EntryPoint = "munmap")]
    private static partial int Munmap(nint address, nuint length);
}
