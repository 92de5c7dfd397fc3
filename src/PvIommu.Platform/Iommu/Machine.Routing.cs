using PvIommu.Platform.Pci;

namespace PvIommu.Platform.Iommu;

/// <summary>Per-segment tables: requester ID → unit, bus → aliasing bridge.</summary>
/// <remarks>
/// <code>
///  _routes[k]: Segment, Unit[65536] (unit index + 1, 0 = none, indexed by bus:devfn),
///              Alias[256] (the aliasing bridge's packed Sbdf + 1 for each bus, 0 = none)
/// </code>
/// Built once, so a DMA costs two array reads to find its unit, not a walk of the topology.
/// </remarks>
public sealed partial class Machine
{
    private readonly SegmentRoutes[] _routes;

    /// <summary>The requester ID <paramref name="requester"/>'s DMA carries when it reaches the IOMMU (a bridge's, when one aliases it).</summary>
    public Sbdf DmaRequesterId(Sbdf requester) => Alias(RoutesOf(requester.Segment), requester);

    /// <summary>The unit whose scope holds <paramref name="requesterId"/>.</summary>
    /// <exception cref="InvalidOperationException">no unit's scope holds it.</exception>
    public IommuUnit UnitFor(Sbdf requesterId) => FindUnitFor(requesterId) ?? throw NoUnit(requesterId);

    /// <summary>The unit whose scope holds <paramref name="requesterId"/>, or <see langword="null"/>.</summary>
    public IommuUnit? FindUnitFor(Sbdf requesterId) => UnitIn(RoutesOf(requesterId.Segment), requesterId);

    /// <summary>
    /// <see cref="DmaRequesterId"/> and <see cref="UnitFor"/> with the segment's tables found once
    /// (an alias is on the requester's own segment): the path of every DMA and translation.
    /// </summary>
    /// <exception cref="InvalidOperationException">no unit's scope holds the requester ID.</exception>
    private IommuUnit Route(Sbdf requester, out Sbdf requesterId)
    {
        var routes = RoutesOf(requester.Segment);
        requesterId = Alias(routes, requester);
        return UnitIn(routes, requesterId) ?? throw NoUnit(requesterId);
    }

    private static Sbdf Alias(SegmentRoutes? routes, Sbdf requester)
    {
        var alias = routes?.Alias[requester.Bus] ?? 0;
        return alias == 0 ? requester : Sbdf.FromDevFn(requester.Segment, (byte)((alias - 1) >> 8), (byte)(alias - 1));
    }

    private IommuUnit? UnitIn(SegmentRoutes? routes, Sbdf requesterId)
    {
        var index = routes?.Unit[(ushort)requesterId.Value] ?? 0;
        return index == 0 ? null : _units[index - 1];
    }

    private static InvalidOperationException NoUnit(Sbdf requesterId) =>
        new($"requester ID {requesterId} is in no IOMMU unit's scope");

    private SegmentRoutes? RoutesOf(ushort segment)
    {
        foreach (var routes in _routes)
        {
            if (routes.Segment == segment)
            {
                return routes;
            }
        }

        return null;
    }

    private SegmentRoutes[] BuildRoutes()
    {
        var all = Topology.Segments.Select(s => new SegmentRoutes(s)).ToArray();
        foreach (var unit in _units)
        {
            if (Array.Find(all, r => r.Segment == unit.Segment) is null)
            {
                throw new InvalidOperationException($"{unit} serves a segment the topology does not have");
            }
        }

        foreach (var routes in all)
        {
            ClaimExplicit(routes);
            ClaimIncludeAll(routes);
            for (var bus = 0; bus < 256; bus++)
            {
                var bridge = Topology.AliasingBridge(new Sbdf(routes.Segment, (byte)bus, 0, 0));
                routes.Alias[bus] = bridge is null ? 0 : (uint)(ushort)bridge.Sbdf.Value + 1;
            }
        }

        return all;
    }

    private void ClaimExplicit(SegmentRoutes routes)
    {
        for (var u = 0; u < _units.Length; u++)
        {
            var unit = _units[u];
            if (unit.Segment != routes.Segment || unit.Description.Scope.IncludesAll)
            {
                continue;
            }

            foreach (var range in unit.Description.Scope.BusRanges)
            {
                ClaimBuses(routes, u, range.First, range.Last);
            }

            foreach (var device in unit.Description.Scope.Devices)
            {
                ClaimDevice(routes, u, device);
            }
        }
    }

    private void ClaimDevice(SegmentRoutes routes, int unit, Sbdf device)
    {
        if (device.Segment != routes.Segment)
        {
            throw new InvalidOperationException($"{_units[unit].Name}: scope names {device}, which is on another segment");
        }

        // A named bridge brings the whole hierarchy behind it; a named device its phantom functions.
        var function = Topology.Find(device);
        foreach (var id in function?.OwnRequesterIds() ?? [device])
        {
            Claim(routes, unit, (ushort)id.Value);
        }

        if (Topology.Bridges.FirstOrDefault(b => b.Sbdf == device) is { } bridge)
        {
            ClaimBuses(routes, unit, bridge.SecondaryBus, bridge.SubordinateBus);
        }
    }

    private void ClaimBuses(SegmentRoutes routes, int unit, byte first, byte last)
    {
        for (var id = first << 8; id < (last + 1) << 8; id++)
        {
            Claim(routes, unit, (ushort)id);
        }
    }

    private void Claim(SegmentRoutes routes, int unit, ushort id)
    {
        var owner = routes.Unit[id];
        if (owner != 0 && owner != unit + 1)
        {
            var sbdf = Sbdf.FromDevFn(routes.Segment, (byte)(id >> 8), (byte)id);
            throw new InvalidOperationException($"{sbdf} is in the scopes of both {_units[owner - 1].Name} and {_units[unit].Name}");
        }

        routes.Unit[id] = (byte)(unit + 1);
    }

    private void ClaimIncludeAll(SegmentRoutes routes)
    {
        var catchAll = Enumerable.Range(0, _units.Length)
            .Where(u => _units[u].Segment == routes.Segment && _units[u].Description.Scope.IncludesAll)
            .ToArray();
        if (catchAll.Length > 1)
        {
            throw new InvalidOperationException(
                $"segment {routes.Segment:x4} has two include-all units: {_units[catchAll[0]].Name} and {_units[catchAll[1]].Name}");
        }

        if (catchAll.Length == 1)
        {
            var index = (byte)(catchAll[0] + 1);
            for (var id = 0; id < routes.Unit.Length; id++)
            {
                routes.Unit[id] = routes.Unit[id] == 0 ? index : routes.Unit[id];
            }
        }
    }

    /// <summary>The routing tables of one segment.</summary>
    private sealed class SegmentRoutes(ushort segment)
    {
        public ushort Segment { get; } = segment;

        public byte[] Unit { get; } = new byte[65536];

        public uint[] Alias { get; } = new uint[256];
    }
}
