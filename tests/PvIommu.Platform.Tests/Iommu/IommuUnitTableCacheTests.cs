using PvIommu.Platform.Iommu;
using PvIommu.Platform.Memory;
using PvIommu.Platform.PageTables;
using PvIommu.Platform.Pci;

namespace PvIommu.Platform.Tests.Iommu;

/// <summary>
/// The IOTLB's paging-structure cache of level-2 entries: a miss in a 2 MiB region whose table
/// a walk has reached reads one word; invalidations drop the region's table with its leaves.
/// Run once per format over hand-built tables.
/// </summary>
public abstract class IommuUnitTableCacheTests<TFormat>
    where TFormat : struct, IPteFormat
{
    private const ushort Did = UnitBed<TFormat>.Did;
    private static readonly Sbdf _nic = UnitBed<TFormat>.Nic;
    private readonly HandTables<TFormat> _tables;
    private readonly IommuUnit _unit;

    protected IommuUnitTableCacheTests()
    {
        var bed = new UnitBed<TFormat>();
        _unit = bed.Unit;
        _tables = bed.Tables;
        _tables.Map(0x10, 0x2000, 1, PteAccess.ReadWrite);
        _tables.Map(0x11, 0x3000, 1, PteAccess.Read);
        _tables.Map(0x10 + 512, 0x4000, 1, PteAccess.ReadWrite);
    }

    [Fact]
    public void SecondMissInTheRegion_ReadsOneWord()
    {
        Assert.Equal(new Mfn(0x2000), _unit.Translate(_nic, 0x10_000, DmaAccess.Write).Mfn);

        var second = _unit.Translate(_nic, 0x11_040, DmaAccess.Read);

        Assert.Equal(new TranslationResult(FaultReason.None, new Mfn(0x3000), PteAccess.Read, 1, 0x3000_040), second);
        var counters = _unit.Counters;
        Assert.Equal((2L, 5L), (counters.Walks, counters.WalkSteps));
        Assert.Equal(1L, _unit.Iotlb.TableHitCount);
    }

    [Fact]
    public void MissInAnotherRegion_WalksEveryLevel()
    {
        _unit.Translate(_nic, 0x10_000, DmaAccess.Write);

        Assert.Equal(new Mfn(0x4000), _unit.Translate(_nic, (0x10 + 512) << 12, DmaAccess.Write).Mfn);

        Assert.Equal((2L, 8L), (_unit.Counters.Walks, _unit.Counters.WalkSteps));
        Assert.Equal(0L, _unit.Iotlb.TableHitCount);
    }

    [Fact]
    public void LeafRights_StillComeFromTheLeaf()
    {
        _unit.Translate(_nic, 0x10_000, DmaAccess.Write);

        Assert.Equal(FaultReason.WriteNotPermitted, _unit.Translate(_nic, 0x11_000, DmaAccess.Write).Reason);
        Assert.Equal(1L, _unit.Iotlb.TableHitCount);
    }

    [Fact]
    public void LevelTwoEntryCleared_IsFollowedUntilAPageInvalidationOfTheRegion()
    {
        _unit.Translate(_nic, 0x10_000, DmaAccess.Write);

        // The hypervisor takes the region's table away without invalidating: the cached pointer
        // still leads to it, as on hardware.
        _tables.Entry(0x11, 2) = 0;
        Assert.Equal(new Mfn(0x3000), _unit.Translate(_nic, 0x11_000, DmaAccess.Read).Mfn);

        // Invalidating one page of the region drops the region's table with that page's leaf.
        _unit.Iotlb.InvalidatePages(Did, new Dfn(0x10), 1);
        Assert.Equal(FaultReason.NotMapped, _unit.Translate(_nic, 0x10_000, DmaAccess.Read).Reason);
        Assert.Equal(1L, _unit.Iotlb.TableHitCount);
    }

    [Fact]
    public void DomainAndGlobalInvalidation_DropTheCachedTables()
    {
        _unit.Translate(_nic, 0x10_000, DmaAccess.Write);
        _unit.Iotlb.InvalidateDomain(Did);
        _unit.Translate(_nic, 0x11_000, DmaAccess.Read);
        _unit.Iotlb.InvalidateAll();
        _unit.Translate(_nic, 0x10_000, DmaAccess.Read);

        Assert.Equal((3L, 12L), (_unit.Counters.Walks, _unit.Counters.WalkSteps));
        Assert.Equal(0L, _unit.Iotlb.TableHitCount);
    }

    [Fact]
    public void AnotherDomainId_DoesNotUseTheTable()
    {
        var other = new Sbdf(0, 4, 0, 0);
        _unit.SetContext(other, DeviceContext.Translated(Did + 1, _tables.Root, 4));
        _unit.Translate(_nic, 0x10_000, DmaAccess.Write);

        _unit.Translate(other, 0x11_000, DmaAccess.Read);

        Assert.Equal(8L, _unit.Counters.WalkSteps);
        Assert.Equal(0L, _unit.Iotlb.TableHitCount);
    }
}

public sealed class VtdIommuUnitTableCacheTests : IommuUnitTableCacheTests<VtdSecondLevel>;

public sealed class AmdIommuUnitTableCacheTests : IommuUnitTableCacheTests<AmdV1>;
