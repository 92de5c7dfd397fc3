namespace PvIommu.Platform.PageTables;

/// <summary>How a page-table operation ended; partial progress is reported beside it.</summary>
public enum PtStatus
{
    /// <summary>Everything asked was done.</summary>
    Ok,

    /// <summary>A frame of the range is already mapped (map).</summary>
    InUse,

    /// <summary>A frame of the range is not mapped (unmap).</summary>
    NotMapped,

    /// <summary>A table page was needed and the pool refused.</summary>
    NoMemory,
}

/// <summary>What one leaf maps: the 4 KiB frame a dfn lands in, the rights and the leaf's level.</summary>
/// <param name="Mfn">The machine frame the looked-up dfn translates to.</param>
/// <param name="Access">The leaf's rights.</param>
/// <param name="Level">The leaf's level: 1 (4 KiB), 2 (2 MiB) or 3 (1 GiB).</param>
public readonly record struct PtLeaf(ulong Mfn, PteAccess Access, int Level);

/// <summary>Told about every leaf an unmap or a teardown removes, so the owner can drop page references.</summary>
public interface ILeafVisitor
{
    /// <summary><paramref name="frames"/> frames at <paramref name="dfn"/> that mapped <paramref name="mfn"/>.. are gone.</summary>
    void Removed(ulong dfn, ulong mfn, ulong frames, PteAccess access);
}

/// <summary>A visitor that ignores removals (benchmarks, identity maps without references).</summary>
public struct IgnoreLeaves : ILeafVisitor
{
    /// <inheritdoc/>
    public readonly void Removed(ulong dfn, ulong mfn, ulong frames, PteAccess access)
    {
    }
}
