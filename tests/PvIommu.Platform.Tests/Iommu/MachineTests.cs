using PvIommu.Platform.Iommu;
using PvIommu.Platform.Memory;
using PvIommu.Platform.PageTables;
using PvIommu.Platform.Pci;

namespace PvIommu.Platform.Tests.Iommu;

/// <summary>The machine: scope routing, host-description checks, and DMA with requester-ID aliasing.</summary>
public sealed class MachineTests
{
    private static readonly Sbdf _bridge = Sbdf.Parse("00:01.0");
    private static readonly Sbdf _nic = Sbdf.Parse("00:02.0");
    private static readonly Sbdf _gpu = Sbdf.Parse("00:03.0");
    private static readonly Sbdf _raid = Sbdf.Parse("00:04.0");
    private static readonly Sbdf _legacy = Sbdf.Parse("01:05.0");
    private readonly MachineMemory _memory = new(1UL << 20);

    [Fact]
    public void UnitOf_ExplicitScopeWinsOverIncludeAll()
    {
        var machine = Build(Vtd("dmar0", DeviceScope.IncludeAll), Vtd("dmar1", DeviceScope.Of([_gpu])));

        Assert.Equal("dmar1", machine.UnitOf(_gpu).Name);
        Assert.Equal("dmar0", machine.UnitOf(_nic).Name);
        Assert.Equal("dmar0", machine.UnitOf(_legacy).Name);
        Assert.Same(machine.Unit("dmar1"), machine.UnitFor(_gpu));
    }

    [Fact]
    public void Constructor_ExplicitBridgeScope_CoversTheBusesBehindIt()
    {
        var machine = Build(Vtd("dmar0", DeviceScope.IncludeAll), Vtd("dmar1", DeviceScope.Of([_bridge])));

        Assert.Equal("dmar1", machine.UnitOf(_legacy).Name);
        Assert.Equal("dmar1", machine.UnitFor(Sbdf.Parse("01:00.0")).Name);
    }

    [Fact]
    public void Constructor_DeviceInNoScope_Throws()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => Build(Vtd("dmar1", DeviceScope.Of([_gpu]))));

        Assert.Contains("no IOMMU unit", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_TwoIncludeAllUnitsOnOneSegment_Throws()
    {
        Assert.Throws<InvalidOperationException>(() => Build(Vtd("a", DeviceScope.IncludeAll), Vtd("b", DeviceScope.IncludeAll)));
    }

    [Fact]
    public void Constructor_OverlappingExplicitScopes_Throws()
    {
        Assert.Throws<InvalidOperationException>(() => Build(
            Vtd("a", DeviceScope.IncludeAll),
            Vtd("b", DeviceScope.OfBuses(new BusRange(0, 0))),
            Vtd("c", DeviceScope.Of([_gpu]))));
    }

    [Fact]
    public void Constructor_PhantomFunctionInAnotherUnit_Throws()
    {
        var ex = Assert.Throws<InvalidOperationException>(() =>
            Build(Vtd("a", DeviceScope.IncludeAll), Vtd("b", DeviceScope.Of([Sbdf.Parse("00:04.1")]))));

        Assert.Contains("split", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_DuplicateUnitNames_Throws()
    {
        Assert.Throws<ArgumentException>(() => Build(Vtd("a", DeviceScope.IncludeAll), Vtd("a", DeviceScope.Of([_gpu]))));
    }

    [Fact]
    public void Constructor_UnitOnAMissingSegment_Throws()
    {
        var stray = new IommuUnitDescription("x", PageTableFormat.VtdSecondLevel, 4, 9, DeviceScope.IncludeAll);

        Assert.Throws<InvalidOperationException>(() => Build(Vtd("a", DeviceScope.IncludeAll), stray));
    }

    [Fact]
    public void Constructor_FreezesTheTopology()
    {
        var machine = Build(Vtd("dmar0", DeviceScope.IncludeAll));

        Assert.True(machine.Topology.IsFrozen);
        Assert.Throws<InvalidOperationException>(() => machine.Topology.AddFunction(new PciFunction(Sbdf.Parse("00:09.0"), PciFunctionKind.Endpoint, "late")));
    }

    [Fact]
    public void Write_DeviceBehindPcieToPciBridge_UsesTheBridgesContext()
    {
        var machine = Build(Vtd("dmar0", DeviceScope.IncludeAll));
        var unit = machine.UnitOf(_legacy);
        var tables = new HandTables<VtdSecondLevel>(_memory, 0x100, 4);
        tables.Map(0x10, 0x2000, 1, PteAccess.ReadWrite);
        foreach (var id in machine.Topology.RequesterIds(_legacy))
        {
            unit.SetContext(id, DeviceContext.Translated(3, tables.Root, 4));
        }

        Assert.Equal(_bridge, machine.DmaRequesterId(_legacy));
        Assert.True(machine.Write(_legacy, 0x10_000, [7]).IsOk);
        var back = new byte[1];
        _memory.Read(new Mfn(0x2000), 0, back);
        Assert.Equal([7], back);
    }

    [Fact]
    public void Write_DeviceBehindBridgeWithOnlyItsOwnIdProgrammed_IsBlockedUnderTheBridgesId()
    {
        var machine = Build(Vtd("dmar0", DeviceScope.IncludeAll));
        var unit = machine.UnitOf(_legacy);
        unit.SetContext(_legacy, DeviceContext.PassThrough(1));

        Assert.Equal(FaultReason.Blocked, machine.Write(_legacy, 0x10_000, [7]).Reason);
        Assert.Equal(_bridge, Assert.Single(unit.Faults.Snapshot()).Requester);
    }

    [Fact]
    public void Read_PhantomFunction_UsesItsOwnContextEntry()
    {
        var machine = Build(Vtd("dmar0", DeviceScope.IncludeAll));
        var unit = machine.UnitOf(_raid);
        unit.SetContext(_raid, DeviceContext.PassThrough(1));
        var phantom = _raid.WithFunction(1);

        Assert.True(machine.Read(_raid, 0x1000, new byte[4]).IsOk);
        Assert.Equal(FaultReason.Blocked, machine.Read(phantom, 0x1000, new byte[4]).Reason);

        unit.SetContext(phantom, DeviceContext.PassThrough(1));
        Assert.True(machine.Read(phantom, 0x1000, new byte[4]).IsOk);
    }

    [Fact]
    public void SetDeviceContext_ProgramsEveryRequesterIdOfTheDevice()
    {
        var machine = Build(Vtd("dmar0", DeviceScope.IncludeAll));
        var unit = machine.UnitOf(_raid);

        machine.SetDeviceContext(_raid, DeviceContext.PassThrough(4));
        machine.SetDeviceContext(_legacy, DeviceContext.PassThrough(5));
        machine.InvalidateDeviceContext(_raid);

        Assert.Equal(DeviceContext.PassThrough(4), unit.GetContext(_raid.WithFunction(1)));
        Assert.Equal(DeviceContext.PassThrough(5), unit.GetContext(Sbdf.Parse("01:00.0")));
        Assert.Equal(DeviceContext.Blocked, unit.GetContext(_legacy));
        Assert.True(machine.Read(_raid.WithFunction(1), 0x1000, new byte[4]).IsOk);
        Assert.Equal(2, unit.Counters.ContextDeviceInvalidations);
    }

    [Fact]
    public void Dma_FaultsAreLoggedByTheUnitThatOwnsTheRequester()
    {
        var machine = Build(Vtd("dmar0", DeviceScope.IncludeAll), Vtd("dmar1", DeviceScope.Of([_gpu])));

        machine.Write(_gpu, 0, [1]);
        machine.Translate(_nic, 0, DmaAccess.Read);

        Assert.Equal(1, machine.Unit("dmar1").Faults.Count);
        Assert.Equal(0, machine.Unit("dmar0").Faults.Count);
        Assert.Equal(1, machine.TotalFaults);
    }

    [Fact]
    public void Dma_AmdUnitPassThroughDevice_ReachesMemory()
    {
        var ivhd = new IommuUnitDescription("ivhd0", PageTableFormat.AmdV1, 4, 0, DeviceScope.IncludeAll);
        var machine = Build(ivhd);
        machine.UnitOf(_nic).SetContext(_nic, DeviceContext.PassThrough(1));
        machine.UnitOf(_nic).InvalidateContextDevice(_nic);

        Assert.True(machine.Write(_nic, 0x3000, [1, 2]).IsOk);
        Assert.Equal(FaultReason.Blocked, machine.Write(_gpu, 0x3000, [1, 2]).Reason);
    }

    [Fact]
    public void Unit_UnknownName_Throws()
    {
        var machine = Build(Vtd("dmar0", DeviceScope.IncludeAll));

        Assert.Throws<KeyNotFoundException>(() => machine.Unit("nope"));
        Assert.Null(machine.FindUnitFor(new Sbdf(5, 0, 0, 0)));
        Assert.Throws<InvalidOperationException>(() => machine.Read(new Sbdf(5, 0, 0, 0), 0, new byte[1]));
    }

    private static IommuUnitDescription Vtd(string name, DeviceScope scope) =>
        new(name, PageTableFormat.VtdSecondLevel, 4, 0, scope);

    private Machine Build(params IommuUnitDescription[] units)
    {
        var topology = new PciTopology();
        topology.AddSegment(0);
        topology.AddBridge(new PciFunction(_bridge, PciFunctionKind.PcieToPciBridge, "PCIe-to-PCI bridge"), 1, 1);
        topology.AddFunction(new PciFunction(_nic, PciFunctionKind.Endpoint, "Ethernet controller"));
        topology.AddFunction(new PciFunction(
            _gpu, PciFunctionKind.Endpoint, "VGA controller", reservedRegions: [new ReservedRegion(new Dfn(0x7_0000), 0x100, "stolen")]));
        topology.AddFunction(new PciFunction(_raid, PciFunctionKind.Endpoint, "RAID controller", phantomFunctions: 1));
        topology.AddFunction(new PciFunction(_legacy, PciFunctionKind.Endpoint, "legacy PCI card"));
        return new Machine(_memory, topology, units);
    }
}
