namespace PvIommu.Platform.PageTables;

/// <summary>
/// One hardware page-table entry format, as static members so that the engine and the walker
/// are compiled once per format with every bit operation inlined.
/// </summary>
/// <remarks>
/// Levels count from the leaves: level 1 tables hold 4 KiB PTEs, level 2 entries cover 2 MiB,
/// level 3 entries 1 GiB; a 4-level table has its root at level 4 (48-bit addresses).
/// </remarks>
public interface IPteFormat
{
    /// <summary>Which format this is.</summary>
    static abstract PageTableFormat Kind { get; }

    /// <summary>The address field of an entry that points at <paramref name="mfn"/> (bits 51:12 in both formats).</summary>
    static abstract ulong AddressBits(ulong mfn);

    /// <summary>A leaf mapping <paramref name="mfn"/> at <paramref name="level"/> (1 = 4 KiB).</summary>
    static abstract ulong Leaf(ulong mfn, int level, PteAccess access);

    /// <summary>A non-leaf entry at <paramref name="level"/> pointing to the table in <paramref name="tableMfn"/>.</summary>
    static abstract ulong Table(ulong tableMfn, int level);

    /// <summary>Whether the entry is present (the walk continues or ends in a leaf).</summary>
    static abstract bool IsPresent(ulong pte);

    /// <summary>The bits of which any one set makes an entry present: <see cref="IsPresent"/> is
    /// <c>(pte &amp; PresentBits) != 0</c> (for tests of several entries at once).</summary>
    static abstract ulong PresentBits { get; }

    /// <summary>Whether a present entry at <paramref name="level"/> is a leaf.</summary>
    static abstract bool IsLeaf(ulong pte, int level);

    /// <summary>The frame the entry points to (next table or mapped page).</summary>
    static abstract ulong Address(ulong pte);

    /// <summary>The address field in place (bits 51:12): the byte address of the frame the entry points to.</summary>
    static abstract ulong AddressField(ulong pte);

    /// <summary>The access the entry grants (for a non-leaf: what it lets through).</summary>
    static abstract PteAccess Access(ulong pte);
}
