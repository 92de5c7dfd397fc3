namespace PvIommu.Platform.Pci;

/// <summary>
/// The host's PCI hierarchy: segments, their root buses, bridges with the bus ranges behind
/// them, and functions. Built once by the host's constructor, then frozen when a machine is
/// built over it; bad input throws, as it is a bug in the host description, never guest input.
/// </summary>
/// <remarks>
/// <code>
///  segment 0
///  bus 00 ── 00:01.0 root port [01-02] ── bus 01 ── 01:00.0 PCIe-to-PCI bridge [02-02]
///                                                               └── bus 02 ── 02:03.0 conventional NIC
/// </code>
/// The NIC's DMA reaches the IOMMU with requester ID 01:00.0 (the bridge's): see
/// <see cref="RequesterIds"/>. Bus ranges of bridges are disjoint or nested, as bus numbering
/// by firmware makes them.
/// </remarks>
public sealed partial class PciTopology
{
    private readonly Dictionary<uint, PciFunction> _functions = [];
    private readonly Dictionary<ushort, SegmentBuses> _segments = [];
    private readonly List<PciBridge> _bridges = [];

    /// <summary>Whether the topology may still change (false once a machine is built over it).</summary>
    public bool IsFrozen { get; private set; }

    /// <summary>The segments, in ascending order.</summary>
    public IReadOnlyList<ushort> Segments => [.. _segments.Keys.Order()];

    /// <summary>Every function (endpoints and bridges), ordered by address.</summary>
    public IReadOnlyList<PciFunction> Functions => [.. _functions.Values.OrderBy(f => f.Sbdf)];

    /// <summary>Every bridge, ordered by address.</summary>
    public IReadOnlyList<PciBridge> Bridges => [.. _bridges.OrderBy(b => b.Sbdf)];

    /// <summary>Number of functions.</summary>
    public int Count => _functions.Count;

    /// <summary>Adds a segment with root bus 0.</summary>
    /// <exception cref="InvalidOperationException">the segment exists already, or the topology is frozen.</exception>
    public void AddSegment(ushort segment)
    {
        CheckNotFrozen();
        if (!_segments.TryAdd(segment, new SegmentBuses()))
        {
            throw new InvalidOperationException($"segment {segment:x4} exists already");
        }

        _segments[segment].IsRoot[0] = true;
    }

    /// <summary>Adds another root bus (a second host bridge) to a segment.</summary>
    /// <exception cref="InvalidOperationException">unknown segment, a bus that exists already, or frozen.</exception>
    public void AddRootBus(ushort segment, byte bus)
    {
        CheckNotFrozen();
        var buses = Segment(segment);
        if (BusExists(buses, bus))
        {
            throw new InvalidOperationException($"bus {segment:x4}:{bus:x2} exists already");
        }

        buses.IsRoot[bus] = true;
    }

    /// <summary>Adds a bridge function and claims the buses <paramref name="secondaryBus"/>..<paramref name="subordinateBus"/> behind it.</summary>
    /// <exception cref="ArgumentException">not a bridge kind, or a bus range that is not strictly below the bridge.</exception>
    /// <exception cref="InvalidOperationException">the bridge's bus does not exist, its address is taken, or the range collides with other buses.</exception>
    public PciBridge AddBridge(PciFunction bridge, byte secondaryBus, byte subordinateBus)
    {
        ArgumentNullException.ThrowIfNull(bridge);
        if (!bridge.IsBridge)
        {
            throw new ArgumentException($"{bridge} is not a bridge", nameof(bridge));
        }

        if (secondaryBus <= bridge.Sbdf.Bus || subordinateBus < secondaryBus)
        {
            throw new ArgumentException(
                $"bridge {bridge.Sbdf} on bus {bridge.Sbdf.Bus:x2} cannot own buses {secondaryBus:x2}-{subordinateBus:x2}",
                nameof(secondaryBus));
        }

        CheckPlaceable(bridge);
        var buses = Segment(bridge.Sbdf.Segment);
        var parent = buses.Parent[bridge.Sbdf.Bus];
        for (var bus = (int)secondaryBus; bus <= subordinateBus; bus++)
        {
            if (buses.IsRoot[bus] || buses.Parent[bus] != parent)
            {
                throw new InvalidOperationException(
                    $"bus {bridge.Sbdf.Segment:x4}:{bus:x2} behind {bridge.Sbdf} is already a root bus or behind another bridge");
            }
        }

        var added = new PciBridge(bridge, secondaryBus, subordinateBus);
        for (var bus = (int)secondaryBus; bus <= subordinateBus; bus++)
        {
            buses.Parent[bus] = added;
        }

        _functions.Add(bridge.Sbdf.Value, bridge);
        _bridges.Add(added);
        return added;
    }

    /// <summary>Adds an endpoint function.</summary>
    /// <exception cref="ArgumentException">a bridge kind (use <see cref="AddBridge"/>).</exception>
    /// <exception cref="InvalidOperationException">its bus does not exist, or its address or a phantom function's is taken.</exception>
    public void AddFunction(PciFunction function)
    {
        ArgumentNullException.ThrowIfNull(function);
        if (function.IsBridge)
        {
            throw new ArgumentException($"{function} is a bridge: add it with AddBridge and its bus range", nameof(function));
        }

        CheckPlaceable(function);
        _functions.Add(function.Sbdf.Value, function);
    }

    /// <summary>Stops further changes; a machine built over the topology relies on it staying put.</summary>
    public void Freeze() => IsFrozen = true;

    /// <summary>The function at <paramref name="sbdf"/>, or <see langword="null"/>.</summary>
    public PciFunction? Find(Sbdf sbdf) => _functions.GetValueOrDefault(sbdf.Value);

    /// <summary>The function at <paramref name="sbdf"/>.</summary>
    /// <exception cref="KeyNotFoundException">no function there.</exception>
    public PciFunction Get(Sbdf sbdf) =>
        Find(sbdf) ?? throw new KeyNotFoundException($"no PCI function at {sbdf}");

    /// <summary>Whether a function sits at <paramref name="sbdf"/>.</summary>
    public bool Contains(Sbdf sbdf) => _functions.ContainsKey(sbdf.Value);

    /// <summary>Whether the bus exists (a root bus, or behind a bridge).</summary>
    public bool BusExists(ushort segment, byte bus) =>
        _segments.TryGetValue(segment, out var buses) && BusExists(buses, bus);

    /// <summary>The function whose DMA carries <paramref name="requesterId"/> on its own link (itself or a phantom function's owner), or <see langword="null"/>.</summary>
    public PciFunction? OwnerOf(Sbdf requesterId)
    {
        for (var fn = (int)requesterId.Function; fn >= 0; fn--)
        {
            if (Find(requesterId.WithFunction((byte)fn)) is { } f)
            {
                return f.Issues(requesterId) ? f : null;
            }
        }

        return null;
    }

    private static bool BusExists(SegmentBuses buses, byte bus) => buses.IsRoot[bus] || buses.Parent[bus] is not null;

    private SegmentBuses Segment(ushort segment) =>
        _segments.TryGetValue(segment, out var buses)
            ? buses
            : throw new InvalidOperationException($"segment {segment:x4} does not exist");

    private void CheckPlaceable(PciFunction function)
    {
        CheckNotFrozen();
        var sbdf = function.Sbdf;
        if (!BusExists(Segment(sbdf.Segment), sbdf.Bus))
        {
            throw new InvalidOperationException($"{sbdf}: bus {sbdf.Segment:x4}:{sbdf.Bus:x2} does not exist");
        }

        // OwnerOf catches both a function already at one of these IDs and an earlier function
        // of the same device whose phantom functions cover it.
        foreach (var id in function.OwnRequesterIds())
        {
            if (OwnerOf(id) is { } other)
            {
                throw new InvalidOperationException($"{sbdf}: requester ID {id} is already used by {other}");
            }
        }
    }

    private void CheckNotFrozen()
    {
        if (IsFrozen)
        {
            throw new InvalidOperationException("the PCI topology is frozen: a machine was built over it");
        }
    }

    /// <summary>Per segment: which buses are root buses and which bridge each other bus lies directly behind.</summary>
    private sealed class SegmentBuses
    {
        public bool[] IsRoot { get; } = new bool[256];

        public PciBridge?[] Parent { get; } = new PciBridge?[256];
    }
}
