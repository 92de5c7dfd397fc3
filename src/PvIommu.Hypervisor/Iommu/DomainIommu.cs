using PvIommu.Hypervisor.Domains;
using PvIommu.Platform.Memory;
using PvIommu.Platform.PageTables;

namespace PvIommu.Hypervisor.Iommu;

/// <summary>
/// A domain's PV-IOMMU state: the default context (Xen-managed, its tables from the host heap)
/// and, after init, the arena and the guest's contexts 1..<see cref="MaxContexts"/>.
/// </summary>
public sealed class DomainIommu
{
    private IommuContext?[] _contexts = [];

    internal DomainIommu(Domain owner) => Owner = owner;

    /// <summary>The domain.</summary>
    public Domain Owner { get; }

    /// <summary>Whether init has run (one-shot).</summary>
    public bool IsInitialised { get; private set; }

    /// <summary>Non-default contexts the domain may use (0 before init).</summary>
    public ushort MaxContexts { get; private set; }

    /// <summary>The arena: 2^order page-table pages reserved at init (null before).</summary>
    public TablePool? Arena { get; private set; }

    /// <summary>The arena's order (valid after init).</summary>
    public int ArenaOrder { get; private set; }

    /// <summary>Context 0 (null for a domain without an IOMMU).</summary>
    public IommuContext? Default { get; internal set; }

    /// <summary>The pool context 0's tables come from (Xen's own memory, not the arena).</summary>
    internal TablePool? DefaultPool { get; set; }

    /// <summary>The live or dying context <paramref name="number"/>, if allocated (0 gives the default context).</summary>
    public IommuContext? Context(ushort number) =>
        number == 0 ? Default : number < _contexts.Length ? _contexts[number] : null;

    /// <summary>A live guest context (1..max), or null.</summary>
    internal IommuContext? LiveContext(ushort number) =>
        number != 0 && number < _contexts.Length && _contexts[number] is { State: ContextState.Live } c ? c : null;

    /// <summary>Allocated guest contexts (live or dying), in number order.</summary>
    public IEnumerable<IommuContext> GuestContexts => _contexts.Where(c => c is not null)!;

    /// <summary>Every context: the default one first, then the guest's.</summary>
    public IEnumerable<IommuContext> AllContexts =>
        Default is null ? GuestContexts : GuestContexts.Prepend(Default);

    internal void Initialise(ushort maxContexts, TablePool arena, int order)
    {
        MaxContexts = maxContexts;
        Arena = arena;
        ArenaOrder = order;
        _contexts = new IommuContext?[maxContexts + 1];
        IsInitialised = true;
    }

    /// <summary>The lowest free context number, or 0 when none is free.</summary>
    internal ushort LowestFree()
    {
        for (var n = 1; n < _contexts.Length; n++)
        {
            if (_contexts[n] is null)
            {
                return (ushort)n;
            }
        }

        return 0;
    }

    internal void Install(IommuContext context) => _contexts[context.Number] = context;

    internal void Remove(ushort number) => _contexts[number] = null;

    /// <summary>Forgets the arena and contexts (domain teardown, after everything was freed).</summary>
    internal (Mfn First, int Pages)? ReleaseArena()
    {
        if (Arena is not { } arena)
        {
            return null;
        }

        Arena = null;
        _contexts = [];
        return (arena.First, arena.Capacity);
    }
}
