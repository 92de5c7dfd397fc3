using PvIommu.Platform.Pci;

namespace PvIommu.Hypervisor.Tests.Model;

/// <summary>What a model context is.</summary>
internal enum ModelContextKind
{
    /// <summary>Context 0: Xen-managed, its tables from the domain's default pool.</summary>
    Default,

    /// <summary>A guest paging context.</summary>
    Paging,

    /// <summary>An ALLOC_identity context: RAM at dfn = gfn, kept in sync with the p2m.</summary>
    Identity,
}

/// <summary>One context of the model: its table and the devices in it.</summary>
internal sealed class ModelContext(ushort number, ModelContextKind kind, ModelTable table)
{
    public ushort Number { get; } = number;

    public ModelContextKind Kind { get; } = kind;

    /// <summary>Replaced whole when an all-or-nothing change commits.</summary>
    public ModelTable Table { get; set; } = table;

    public SortedSet<Sbdf> Devices { get; } = [];
}

/// <summary>One domain of the model: p2m, limits, contexts.</summary>
internal sealed class ModelDomain(ushort id, bool isPv)
{
    public ushort Id { get; } = id;

    /// <summary>PV (gfn = mfn, context 0 is 1:1 by mfn and readable) or PVH (context 0 opaque, dfn = gfn).</summary>
    public bool IsPv { get; } = isPv;

    /// <summary>RAM: gfn → mfn.</summary>
    public SortedDictionary<ulong, ulong> Ram { get; } = [];

    /// <summary>MMIO the domain may map: gfn → mfn.</summary>
    public Dictionary<ulong, ulong> Mmio { get; } = [];

    /// <summary>The first RAM gfn at boot (the selectors' origin).</summary>
    public ulong RamFirst { get; set; }

    /// <summary>RAM frames at boot.</summary>
    public ulong RamFrames { get; set; }

    public bool Initialised { get; set; }

    public ushort MaxCtx { get; set; }

    public int ArenaCapacity { get; set; }

    public required ModelContext Default { get; init; }

    public int DefaultPoolCapacity { get; init; }

    public SortedDictionary<ushort, ModelContext> Contexts { get; } = [];

    /// <summary>Arena pages not held by a context.</summary>
    public int ArenaFree => ArenaCapacity - ArenaInUse;

    public int ArenaInUse => Contexts.Values.Sum(c => c.Table.Pages);

    public int DefaultPoolFree => DefaultPoolCapacity - Default.Table.Pages;

    /// <summary>Context <paramref name="number"/> (0: the default), if allocated.</summary>
    public ModelContext? Context(ushort number) => number == 0 ? Default : Contexts.GetValueOrDefault(number);

    /// <summary>RAM as runs contiguous in gfn and mfn (how Xen walks the p2m for identity maps).</summary>
    public IEnumerable<(ulong Gfn, ulong Mfn, ulong Count)> RamRuns()
    {
        (ulong Gfn, ulong Mfn, ulong Count)? run = null;
        foreach (var (gfn, mfn) in Ram)
        {
            if (run is { } r && r.Gfn + r.Count == gfn && r.Mfn + r.Count == mfn)
            {
                run = r with { Count = r.Count + 1 };
                continue;
            }

            if (run is { } done)
            {
                yield return done;
            }

            run = (gfn, mfn, 1);
        }

        if (run is { } last)
        {
            yield return last;
        }
    }
}
