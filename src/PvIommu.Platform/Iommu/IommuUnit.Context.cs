using System.Runtime.CompilerServices;
using PvIommu.Platform.PageTables;
using PvIommu.Platform.Pci;

namespace PvIommu.Platform.Iommu;

/// <summary>The context table and the context cache.</summary>
/// <remarks>
/// <code>
///  table:  _table[bus] ──► ulong[512]: entry of devfn d at words 2d (bits 63:0), 2d+1 (bits 127:64)
///  cache:  _cache[bus] ──► CachedContext[256], indexed by devfn
/// </code>
/// The table holds the encoded entries of the unit's format, as the root and context tables
/// (VT-d §9.1, §9.3) or the device table (AMD-Vi §2.2.2) hold them; a bus never written reads
/// as all blocked entries. The cache holds decoded entries and keeps serving them after the
/// table changes until a context-cache invalidation (VT-d §6.5.2.1 context-cache invalidate:
/// device-selective, domain-selective, global; AMD-Vi §2.4 INVALIDATE_DEVTAB_ENTRY). VT-d with
/// Caching Mode clear does not cache not-present entries, so on VT-d a blocked requester is
/// read from the table every time; AMD-Vi caches every valid entry, blocked ones included.
/// </remarks>
public sealed partial class IommuUnit
{
    private readonly ulong[]?[] _table = new ulong[]?[256];
    private readonly CachedContext[]?[] _cache = new CachedContext[]?[256];
    private readonly ulong _blockedLo;
    private readonly ulong _blockedHi;
    private long _contextHits;
    private long _contextMisses;
    private long _contextDeviceInvalidations;
    private long _contextDomainInvalidations;
    private long _contextGlobalInvalidations;

    /// <summary>
    /// Writes the context entry of <paramref name="requesterId"/> in the unit's format. Like a
    /// write to the in-memory table, it is not seen by a requester whose entry is cached until
    /// <see cref="InvalidateContextDevice"/> (or a wider invalidation).
    /// </summary>
    /// <exception cref="ArgumentException">a requester of another segment, levels outside 3..<see cref="Levels"/>, or a root beyond host memory.</exception>
    public void SetContext(Sbdf requesterId, DeviceContext context)
    {
        CheckSegment(requesterId);
        if (context.Translation == DeviceTranslation.Translated)
        {
            if (context.Levels < 3 || context.Levels > Levels)
            {
                throw new ArgumentOutOfRangeException(nameof(context), context, $"{Name} walks 3 to {Levels} levels");
            }

            if (!_memory.Contains(context.Root))
            {
                throw new ArgumentOutOfRangeException(nameof(context), context, "root table beyond host memory");
            }
        }

        var (lo, hi) = Encode(context);
        var words = _table[requesterId.Bus] ??= NewBus();
        words[2 * requesterId.DevFn] = lo;
        words[(2 * requesterId.DevFn) + 1] = hi;
    }

    /// <summary>The context entry the table holds for <paramref name="requesterId"/>, decoded (not what the cache may still serve).</summary>
    public DeviceContext GetContext(Sbdf requesterId)
    {
        CheckSegment(requesterId);
        var (lo, hi) = ContextWords(requesterId);
        return Decode(lo, hi);
    }

    /// <summary>The raw words of <paramref name="requesterId"/>'s entry: bits 63:0 and 127:64 of a VT-d context entry or an AMD-Vi device table entry.</summary>
    public (ulong Lo, ulong Hi) ContextWords(Sbdf requesterId)
    {
        CheckSegment(requesterId);
        var words = _table[requesterId.Bus];
        return words is null ? (_blockedLo, _blockedHi) : (words[2 * requesterId.DevFn], words[(2 * requesterId.DevFn) + 1]);
    }

    /// <summary>What the context cache holds for <paramref name="requesterId"/>, or <see langword="null"/> when nothing is cached.</summary>
    public DeviceContext? CachedContextOf(Sbdf requesterId)
    {
        CheckSegment(requesterId);
        var bus = _cache[requesterId.Bus];
        return bus is not null && bus[requesterId.DevFn].Valid ? bus[requesterId.DevFn].Context : null;
    }

    /// <summary>Device-selective context-cache invalidation: forgets the cached entry of <paramref name="requesterId"/>.</summary>
    public void InvalidateContextDevice(Sbdf requesterId)
    {
        CheckSegment(requesterId);
        _contextDeviceInvalidations++;
        if (_cache[requesterId.Bus] is { } bus)
        {
            bus[requesterId.DevFn] = default;
        }
    }

    /// <summary>Domain-selective context-cache invalidation: forgets every cached entry tagged <paramref name="domainId"/>.</summary>
    public void InvalidateContextDomain(ushort domainId)
    {
        _contextDomainInvalidations++;
        foreach (var bus in _cache)
        {
            if (bus is null)
            {
                continue;
            }

            for (var devFn = 0; devFn < bus.Length; devFn++)
            {
                if (bus[devFn].Valid && bus[devFn].Context.DomainId == domainId)
                {
                    bus[devFn] = default;
                }
            }
        }
    }

    /// <summary>Global context-cache invalidation: forgets every cached entry.</summary>
    public void InvalidateContextAll()
    {
        _contextGlobalInvalidations++;
        Array.Clear(_cache);
    }

    /// <summary>The context a request from <paramref name="requesterId"/> uses: the cached entry, else the table's (then cached).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private DeviceContext ContextFor(Sbdf requesterId)
    {
        var bus = _cache[requesterId.Bus];
        if (bus is not null && bus[requesterId.DevFn].Valid && requesterId.Segment == Segment)
        {
            _contextHits++;
            return bus[requesterId.DevFn].Context;
        }

        return ContextMiss(requesterId);
    }

    private DeviceContext ContextMiss(Sbdf requesterId)
    {
        _contextMisses++;
        if (requesterId.Segment != Segment)
        {
            // Another segment's requests never reach this unit; a stray one is refused.
            return DeviceContext.Blocked;
        }

        var (lo, hi) = ContextWords(requesterId);
        var context = Decode(lo, hi);
        if (context.Translation != DeviceTranslation.Blocked || Format == PageTableFormat.AmdV1)
        {
            var bus = _cache[requesterId.Bus] ??= new CachedContext[256];
            bus[requesterId.DevFn] = new CachedContext(context, true);
        }

        return context;
    }

    private (ulong Lo, ulong Hi) Encode(DeviceContext context)
    {
        if (Format == PageTableFormat.VtdSecondLevel)
        {
            var vtd = VtdContextEntry.FromContext(context, Levels);
            return (vtd.Lo, vtd.Hi);
        }

        var amd = AmdDeviceTableEntry.FromContext(context);
        return (amd.Lo, amd.Hi);
    }

    private DeviceContext Decode(ulong lo, ulong hi) => Format == PageTableFormat.VtdSecondLevel
        ? new VtdContextEntry(lo, hi).ToContext()
        : new AmdDeviceTableEntry(lo, hi).ToContext();

    private ulong[] NewBus()
    {
        var words = new ulong[512];
        if (_blockedLo != 0 || _blockedHi != 0)
        {
            for (var i = 0; i < words.Length; i += 2)
            {
                words[i] = _blockedLo;
                words[i + 1] = _blockedHi;
            }
        }

        return words;
    }

    private void CheckSegment(Sbdf requesterId)
    {
        if (requesterId.Segment != Segment)
        {
            throw new ArgumentException($"{requesterId} is not on segment {Segment:x4} of {Name}", nameof(requesterId));
        }
    }

    /// <summary>A decoded context entry and whether the slot holds one.</summary>
    private readonly record struct CachedContext(DeviceContext Context, bool Valid);
}
