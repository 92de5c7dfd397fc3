using System.Runtime.CompilerServices;
using PvIommu.Platform.Memory;
using PvIommu.Platform.PageTables;

namespace PvIommu.Platform.Iommu;

/// <summary>
/// The IOTLB of one IOMMU unit: leaf translations tagged by domain-id, in one set-associative
/// array per leaf size (4 KiB, 2 MiB, 1 GiB). Like the hardware, it keeps serving an entry
/// after the page table changes until software invalidates it (VT-d §6.5 "Invalidation of
/// Translation Caches": IOTLB page-selective, domain-selective, global; AMD-Vi §2.4
/// INVALIDATE_IOMMU_PAGES). Not-present results are never cached, so a new mapping needs no
/// invalidation to become visible (VT-d with Caching Mode clear).
/// Beside the leaves it keeps a paging-structure cache of present level-2 entries (which 4 KiB
/// table serves a 2 MiB region), as VT-d's PDE cache does: every invalidation that drops leaves
/// of a region drops its cached table too, so a table freed after an invalidated unmap is never
/// read through it.
/// </summary>
/// <remarks>
/// Lookups try 4 KiB, then 2 MiB, then 1 GiB: a hit is a few array reads and no allocation.
/// Not thread-safe: the unit's owner serialises access.
/// </remarks>
public sealed class Iotlb
{
    private readonly IotlbArray _small;
    private readonly IotlbArray _large;
    private readonly IotlbArray _huge;
    private readonly IotlbArray _tables;
    private long _hits;
    private long _misses;
    private long _fills;
    private long _evictions;
    private long _pageInvalidations;
    private long _domainInvalidations;
    private long _globalInvalidations;
    private long _entriesInvalidated;
    private long _tableHits;

    /// <summary>An empty IOTLB of the given shape.</summary>
    /// <exception cref="ArgumentOutOfRangeException">a bad geometry.</exception>
    public Iotlb(IotlbGeometry geometry)
    {
        ArgumentNullException.ThrowIfNull(geometry);
        geometry.Validate();
        Geometry = geometry;
        _small = new IotlbArray(1, geometry.Sets4K, geometry.Ways4K);
        _large = new IotlbArray(2, geometry.Sets2M, geometry.Ways2M);
        _huge = new IotlbArray(3, geometry.Sets1G, geometry.Ways1G);
        _tables = new IotlbArray(2, geometry.TableSets, geometry.TableWays, leaves: false);
    }

    /// <summary>The shape.</summary>
    public IotlbGeometry Geometry { get; }

    /// <summary>Entries currently valid (a scan; for tests and reports).</summary>
    public int Count => _small.CountValid() + _large.CountValid() + _huge.CountValid();

    /// <summary>Lookups that hit (<see cref="IotlbCounters.Hits"/>, read alone).</summary>
    public long HitCount => _hits;

    /// <summary>Lookups that missed (<see cref="IotlbCounters.Misses"/>, read alone).</summary>
    public long MissCount => _misses;

    /// <summary>Misses whose level-1 table came from the paging-structure cache (one word read instead of a walk).</summary>
    public long TableHitCount => _tableHits;

    /// <summary>A snapshot of the counters.</summary>
    public IotlbCounters Counters => new(
        _hits, _misses, _fills, _evictions, _pageInvalidations, _domainInvalidations, _globalInvalidations, _entriesInvalidated);

    /// <summary>Looks up <paramref name="dfn"/> in <paramref name="domainId"/>'s translations; counts a hit or a miss.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryLookup(ushort domainId, ulong dfn, out IotlbHit hit)
    {
        if (_small.TryFind(domainId, dfn, out hit) || _large.TryFind(domainId, dfn, out hit) || _huge.TryFind(domainId, dfn, out hit))
        {
            _hits++;
            return true;
        }

        _misses++;
        return false;
    }

    /// <summary>
    /// Caches what a walk found: <paramref name="dfn"/> lands in 4 KiB frame <paramref name="mfn"/>
    /// through a leaf at <paramref name="level"/>; the entry covers the whole leaf.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">level outside 1–3, or a dfn wider than 57-bit addresses.</exception>
    public void Fill(ushort domainId, ulong dfn, Mfn mfn, PteAccess access, int level)
    {
        if (dfn >> IotlbArray.MaxDfnBits != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(dfn), dfn, "dfn wider than a 57-bit address");
        }

        _fills++;
        if (ArrayFor(level).Fill(domainId, dfn, mfn.Value, access))
        {
            _evictions++;
        }
    }

    /// <summary>The level-1 table cached for <paramref name="dfn"/>'s 2 MiB region, and the rights the levels above it grant.</summary>
    internal bool TryFindLeafTable(ushort domainId, ulong dfn, out Mfn table, out PteAccess rights)
    {
        if (_tables.TryFind(domainId, dfn, out var hit))
        {
            _tableHits++;
            (table, rights) = (hit.Mfn, hit.Access);
            return true;
        }

        (table, rights) = (default, PteAccess.None);
        return false;
    }

    /// <summary>Caches the level-1 table a walk reached for <paramref name="dfn"/>'s 2 MiB region (a present level-2 entry).</summary>
    internal void FillLeafTable(ushort domainId, ulong dfn, Mfn table, PteAccess rights) =>
        _tables.Fill(domainId, dfn, table.Value, rights);

    /// <summary>
    /// Page-selective invalidation: drops every entry of <paramref name="domainId"/> that overlaps
    /// the <paramref name="count"/> frames from <paramref name="dfn"/>, superpage entries
    /// included, and the cached level-1 tables of the 2 MiB regions they touch. Zero frames
    /// invalidate nothing and are not counted.
    /// </summary>
    /// <returns>Entries dropped.</returns>
    public int InvalidatePages(ushort domainId, Dfn dfn, ulong count)
    {
        if (count == 0)
        {
            return 0;
        }

        var last = dfn.Value + (count - 1) < dfn.Value ? ulong.MaxValue : dfn.Value + (count - 1);
        _pageInvalidations++;
        var dropped = _small.InvalidateRange(domainId, dfn.Value, last)
            + _large.InvalidateRange(domainId, dfn.Value, last)
            + _huge.InvalidateRange(domainId, dfn.Value, last);
        _tables.InvalidateRange(domainId, dfn.Value, last);
        _entriesInvalidated += dropped;
        return dropped;
    }

    /// <summary>Domain-selective invalidation: drops every entry of <paramref name="domainId"/>, cached tables included.</summary>
    /// <returns>Leaf entries dropped.</returns>
    public int InvalidateDomain(ushort domainId)
    {
        _domainInvalidations++;
        var dropped = _small.InvalidateDomain(domainId) + _large.InvalidateDomain(domainId) + _huge.InvalidateDomain(domainId);
        _tables.InvalidateDomain(domainId);
        _entriesInvalidated += dropped;
        return dropped;
    }

    /// <summary>Global invalidation: drops every entry, cached tables included.</summary>
    /// <returns>Leaf entries dropped.</returns>
    public int InvalidateAll()
    {
        _globalInvalidations++;
        var dropped = _small.InvalidateAll() + _large.InvalidateAll() + _huge.InvalidateAll();
        _tables.InvalidateAll();
        _entriesInvalidated += dropped;
        return dropped;
    }

    /// <summary>The array of a leaf level; a fill after every miss asks, so this inlines and the throw does not.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private IotlbArray ArrayFor(int level) => level switch
    {
        1 => _small,
        2 => _large,
        3 => _huge,
        _ => throw BadLevel(level),
    };

    private static ArgumentOutOfRangeException BadLevel(int level) =>
        new(nameof(level), level, "IOTLB leaves are 4 KiB, 2 MiB or 1 GiB");
}
