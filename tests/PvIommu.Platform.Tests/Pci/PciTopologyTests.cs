using PvIommu.Platform.Pci;

namespace PvIommu.Platform.Tests.Pci;

/// <summary>Building the PCI hierarchy and the DMA requester-ID alias rules.</summary>
public sealed class PciTopologyTests
{
    private readonly PciTopology _topology = new();

    public PciTopologyTests() => _topology.AddSegment(0);

    /// <summary>
    /// bus 00: 00:01.0 root port [01-03]
    ///   bus 01: 01:00.0 PCIe endpoint with 2 phantom functions, 01:01.0 PCIe-to-PCI bridge [02-03]
    ///     bus 02: 02:03.0 conventional NIC, 02:04.0 PCI-to-PCI (modelled as root port) [03-03]
    ///       bus 03: 03:00.0 conventional disk
    /// </summary>
    private void BuildTree()
    {
        _topology.AddBridge(Function("00:01.0", PciFunctionKind.RootPort), 1, 3);
        _topology.AddFunction(new PciFunction(Sbdf.Parse("01:00.0"), PciFunctionKind.Endpoint, "raid", phantomFunctions: 2));
        _topology.AddBridge(Function("01:01.0", PciFunctionKind.PcieToPciBridge), 2, 3);
        _topology.AddFunction(Function("02:03.0"));
        _topology.AddBridge(Function("02:04.0", PciFunctionKind.RootPort), 3, 3);
        _topology.AddFunction(Function("03:00.0"));
    }

    [Fact]
    public void RequesterIds_PcieEndpoint_IsItsOwnAddress()
    {
        _topology.AddFunction(Function("00:02.0"));

        Assert.Equal([Sbdf.Parse("00:02.0")], _topology.RequesterIds(Sbdf.Parse("00:02.0")));
    }

    [Fact]
    public void RequesterIds_PhantomFunctions_ListsEachFunctionNumber()
    {
        BuildTree();

        Assert.Equal(
            [Sbdf.Parse("01:00.0"), Sbdf.Parse("01:00.1"), Sbdf.Parse("01:00.2")],
            _topology.RequesterIds(Sbdf.Parse("01:00.0")));
    }

    [Fact]
    public void RequesterIds_BehindPcieToPciBridge_AreTheBridgeAndItsSecondaryBus()
    {
        BuildTree();

        Assert.Equal([Sbdf.Parse("01:01.0"), Sbdf.Parse("02:00.0")], _topology.RequesterIds(Sbdf.Parse("02:03.0")));
        Assert.Equal([Sbdf.Parse("01:01.0"), Sbdf.Parse("02:00.0")], _topology.RequesterIds(Sbdf.Parse("03:00.0")));
    }

    [Fact]
    public void DmaRequesterId_BehindRootPortOnly_IsUnchanged()
    {
        BuildTree();

        Assert.Equal(Sbdf.Parse("01:00.2"), _topology.DmaRequesterId(Sbdf.Parse("01:00.2")));
    }

    [Fact]
    public void DmaRequesterId_NestedPcieToPciBridges_TopmostWins()
    {
        _topology.AddBridge(Function("00:01.0", PciFunctionKind.PcieToPciBridge), 1, 2);
        _topology.AddBridge(Function("01:00.0", PciFunctionKind.PcieToPciBridge), 2, 2);
        _topology.AddFunction(Function("02:05.0"));

        Assert.Equal(Sbdf.Parse("00:01.0"), _topology.DmaRequesterId(Sbdf.Parse("02:05.0")));
        Assert.Equal(Sbdf.Parse("00:01.0"), _topology.AliasingBridge(Sbdf.Parse("02:05.0"))!.Sbdf);
    }

    [Fact]
    public void AliasGroup_DevicesBehindOneBridge_ShareIt()
    {
        BuildTree();

        var group = _topology.AliasGroup(Sbdf.Parse("02:03.0")).Select(f => f.Sbdf.ToString());

        // The bridge itself is in the group: its own requester ID is the one they all carry.
        Assert.Equal(["0000:01:01.0", "0000:02:03.0", "0000:02:04.0", "0000:03:00.0"], group);
        Assert.Single(_topology.AliasGroup(Sbdf.Parse("01:00.0")));
    }

    [Fact]
    public void OwnerOf_PhantomId_FindsTheDevice()
    {
        BuildTree();

        Assert.Equal(Sbdf.Parse("01:00.0"), _topology.OwnerOf(Sbdf.Parse("01:00.2"))!.Sbdf);
        Assert.Null(_topology.OwnerOf(Sbdf.Parse("01:00.3")));
    }

    [Fact]
    public void AddFunction_OnAPhantomFunctionOfAnother_Throws()
    {
        BuildTree();

        Assert.Throws<InvalidOperationException>(() => _topology.AddFunction(Function("01:00.1")));
    }

    [Fact]
    public void AddFunction_WhosePhantomsCoverAnExistingFunction_Throws()
    {
        _topology.AddFunction(Function("00:02.2"));

        Assert.Throws<InvalidOperationException>(() =>
            _topology.AddFunction(new PciFunction(Sbdf.Parse("00:02.0"), PciFunctionKind.Endpoint, "x", phantomFunctions: 3)));
    }

    [Fact]
    public void PciFunction_PhantomsPastFunction7_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            new PciFunction(Sbdf.Parse("00:02.6"), PciFunctionKind.Endpoint, "x", phantomFunctions: 2));
    }

    [Fact]
    public void AddFunction_Twice_Throws()
    {
        _topology.AddFunction(Function("00:02.0"));

        Assert.Throws<InvalidOperationException>(() => _topology.AddFunction(Function("00:02.0")));
    }

    [Fact]
    public void AddFunction_OnAMissingBus_Throws()
    {
        Assert.Throws<InvalidOperationException>(() => _topology.AddFunction(Function("05:00.0")));
    }

    [Fact]
    public void AddFunction_OnAMissingSegment_Throws()
    {
        Assert.Throws<InvalidOperationException>(() => _topology.AddFunction(Function("0002:00:00.0")));
    }

    [Fact]
    public void AddFunction_ABridgeKind_Throws()
    {
        Assert.Throws<ArgumentException>(() => _topology.AddFunction(Function("00:01.0", PciFunctionKind.RootPort)));
    }

    [Fact]
    public void AddBridge_AnEndpoint_Throws()
    {
        Assert.Throws<ArgumentException>(() => _topology.AddBridge(Function("00:01.0"), 1, 1));
    }

    [Theory]
    [InlineData(0, 1)] // secondary not below the bridge
    [InlineData(3, 2)] // subordinate before secondary
    public void AddBridge_BusRangeNotBelowTheBridge_Throws(byte secondary, byte subordinate)
    {
        Assert.Throws<ArgumentException>(() => _topology.AddBridge(Function("00:01.0", PciFunctionKind.RootPort), secondary, subordinate));
    }

    [Fact]
    public void AddBridge_OverlappingASibling_Throws()
    {
        _topology.AddBridge(Function("00:01.0", PciFunctionKind.RootPort), 1, 4);

        Assert.Throws<InvalidOperationException>(() => _topology.AddBridge(Function("00:02.0", PciFunctionKind.RootPort), 4, 5));
    }

    [Fact]
    public void AddBridge_NestedOutsideItsParentsRange_Throws()
    {
        _topology.AddBridge(Function("00:01.0", PciFunctionKind.RootPort), 1, 2);

        Assert.Throws<InvalidOperationException>(() => _topology.AddBridge(Function("01:00.0", PciFunctionKind.RootPort), 2, 3));
    }

    [Fact]
    public void AddBridge_OverARootBus_Throws()
    {
        _topology.AddRootBus(0, 0x80);

        Assert.Throws<InvalidOperationException>(() => _topology.AddBridge(Function("00:01.0", PciFunctionKind.RootPort), 0x7F, 0x80));
    }

    [Fact]
    public void AddSegment_Twice_Throws()
    {
        Assert.Throws<InvalidOperationException>(() => _topology.AddSegment(0));
    }

    [Fact]
    public void Freeze_ThenAdd_Throws()
    {
        _topology.Freeze();

        Assert.Throws<InvalidOperationException>(() => _topology.AddFunction(Function("00:02.0")));
    }

    [Fact]
    public void Enumerations_AreOrderedByAddress()
    {
        BuildTree();
        _topology.AddSegment(1);
        _topology.AddFunction(Function("0001:00:00.0"));

        Assert.Equal(7, _topology.Count);
        Assert.Equal([(ushort)0, (ushort)1], _topology.Segments);
        Assert.Equal(_topology.Functions.Select(f => f.Sbdf).Order(), _topology.Functions.Select(f => f.Sbdf));
        Assert.Equal(["0000:00:01.0", "0000:01:01.0", "0000:02:04.0"], _topology.Bridges.Select(b => b.Sbdf.ToString()));
        Assert.Equal(Sbdf.Parse("01:01.0"), _topology.ParentBridge(Sbdf.Parse("02:03.0"))!.Sbdf);
    }

    [Fact]
    public void Get_Unknown_ThrowsAndFindReturnsNull()
    {
        Assert.Null(_topology.Find(Sbdf.Parse("00:09.0")));
        Assert.Throws<KeyNotFoundException>(() => _topology.Get(Sbdf.Parse("00:09.0")));
        Assert.Throws<KeyNotFoundException>(() => _topology.RequesterIds(Sbdf.Parse("00:09.0")));
    }

    private static PciFunction Function(string sbdf, PciFunctionKind kind = PciFunctionKind.Endpoint) =>
        new(Sbdf.Parse(sbdf), kind, kind == PciFunctionKind.Endpoint ? "device" : "bridge");
}
