using PvIommu.Platform.Iommu;

namespace PvIommu.Devices.Copier;

/// <summary>Which side of the bus an address of a copy is on.</summary>
public enum CopySpace : byte
{
    /// <summary>Host memory, by bus address (an IOVA under translation): reached by DMA.</summary>
    Host,

    /// <summary>The copier's own memory, by offset: reached without the bus.</summary>
    Local,
}

/// <summary>One copy the bulk copier is asked to do.</summary>
/// <param name="SourceSpace">Where the source is.</param>
/// <param name="Source">Source bus address (host) or offset (local).</param>
/// <param name="DestinationSpace">Where the destination is.</param>
/// <param name="Destination">Destination bus address (host) or offset (local).</param>
/// <param name="Length">Bytes to copy.</param>
public readonly record struct CopyCommand(CopySpace SourceSpace, ulong Source, CopySpace DestinationSpace, ulong Destination, ulong Length)
{
    /// <summary>Host memory to host memory: DMA reads then DMA writes, chunk by chunk.</summary>
    public static CopyCommand HostToHost(ulong source, ulong destination, ulong length) =>
        new(CopySpace.Host, source, CopySpace.Host, destination, length);

    /// <summary>Host memory into device memory (an upload).</summary>
    public static CopyCommand HostToLocal(ulong source, ulong localOffset, ulong length) =>
        new(CopySpace.Host, source, CopySpace.Local, localOffset, length);

    /// <summary>Device memory out to host memory (a download).</summary>
    public static CopyCommand LocalToHost(ulong localOffset, ulong destination, ulong length) =>
        new(CopySpace.Local, localOffset, CopySpace.Host, destination, length);
}

/// <summary>How a copy ended.</summary>
public enum CopyStatus : byte
{
    /// <summary>Every byte was copied.</summary>
    Done,

    /// <summary>The IOMMU refused a chunk: the chunks before it were copied, nothing after.</summary>
    DmaFault,

    /// <summary>A local range lies outside the copier's memory: nothing was copied.</summary>
    LocalRangeInvalid,
}

/// <summary>A finished copy.</summary>
/// <param name="Id">The id <see cref="BulkCopier.Submit"/> gave it.</param>
/// <param name="Command">What was asked.</param>
/// <param name="Status">How it ended.</param>
/// <param name="BytesCopied">Bytes that reached the destination (whole chunks).</param>
/// <param name="Fault">The refused request when <see cref="Status"/> is <see cref="CopyStatus.DmaFault"/>.</param>
public readonly record struct CopyCompletion(long Id, CopyCommand Command, CopyStatus Status, ulong BytesCopied, DmaResult Fault);
