using PvIommu.Platform.Iommu;
using PvIommu.Platform.Memory;
using PvIommu.Platform.PageTables;
using PvIommu.Platform.Pci;

namespace PvIommu.Platform.Tests.Iommu;

/// <summary>
/// The context table and cache (VT-d §9.3, §6.5 context-cache invalidation; AMD-Vi §2.2.2,
/// INVALIDATE_DEVTAB_ENTRY): a changed entry is not seen until invalidated.
/// </summary>
public abstract class ContextCacheTests<TFormat>
    where TFormat : struct, IPteFormat
{
    protected static readonly Sbdf Nic = new(0, 3, 0, 0);
    protected static readonly Sbdf Disk = new(0, 3, 1, 0);
    private readonly HandTables<TFormat> _a;
    private readonly HandTables<TFormat> _b;

    protected ContextCacheTests()
    {
        Memory = new MachineMemory(1UL << 20);
        Unit = new IommuUnit(new IommuUnitDescription("u0", TFormat.Kind, 4, 0, DeviceScope.IncludeAll), Memory);

        // Two contexts map dfn 0x10 to different frames, so a translation tells which one was used.
        _a = new HandTables<TFormat>(Memory, 0x100, 4);
        _b = new HandTables<TFormat>(Memory, 0x200, 4);
        _a.Map(0x10, 0xA000, 1, PteAccess.ReadWrite);
        _b.Map(0x10, 0xB000, 1, PteAccess.ReadWrite);
    }

    protected MachineMemory Memory { get; }

    protected IommuUnit Unit { get; }

    protected DeviceContext ContextA => DeviceContext.Translated(1, _a.Root, 4);

    protected DeviceContext ContextB => DeviceContext.Translated(2, _b.Root, 4);

    [Fact]
    public void SetContext_WithoutInvalidation_CachedEntryKeepsServing()
    {
        Unit.SetContext(Nic, ContextA);
        Assert.Equal(new Mfn(0xA000), MfnOf(Nic));

        Unit.SetContext(Nic, ContextB);

        Assert.Equal(ContextB, Unit.GetContext(Nic));
        Assert.Equal(ContextA, Unit.CachedContextOf(Nic));
        Assert.Equal(new Mfn(0xA000), MfnOf(Nic));
    }

    [Fact]
    public void InvalidateContextDevice_ThenTheNewEntryIsUsed()
    {
        Unit.SetContext(Nic, ContextA);
        MfnOf(Nic);
        Unit.SetContext(Nic, ContextB);

        Unit.InvalidateContextDevice(Nic);

        Assert.Equal(new Mfn(0xB000), MfnOf(Nic));
        Assert.Equal(1, Unit.Counters.ContextDeviceInvalidations);
    }

    [Fact]
    public void InvalidateContextDomain_DropsOnlyEntriesOfThatDomain()
    {
        Unit.SetContext(Nic, ContextA);
        Unit.SetContext(Disk, ContextB);
        MfnOf(Nic);
        MfnOf(Disk);
        Unit.SetContext(Nic, DeviceContext.Blocked);
        Unit.SetContext(Disk, DeviceContext.Blocked);

        Unit.InvalidateContextDomain(1);

        Assert.Equal(FaultReason.Blocked, Unit.Translate(Nic, 0x10_000, DmaAccess.Read).Reason);
        Assert.Equal(new Mfn(0xB000), MfnOf(Disk));
    }

    [Fact]
    public void InvalidateContextAll_DropsEveryEntry()
    {
        Unit.SetContext(Nic, ContextA);
        Unit.SetContext(Disk, ContextB);
        MfnOf(Nic);
        MfnOf(Disk);
        Unit.SetContext(Nic, ContextB);
        Unit.SetContext(Disk, ContextA);

        Unit.InvalidateContextAll();

        Assert.Equal(new Mfn(0xB000), MfnOf(Nic));
        Assert.Equal(new Mfn(0xA000), MfnOf(Disk));
        Assert.Null(Unit.CachedContextOf(new Sbdf(0, 9, 0, 0)));
    }

    [Fact]
    public void ContextLookups_AreCountedAsHitsAndMisses()
    {
        Unit.SetContext(Nic, ContextA);

        MfnOf(Nic);
        MfnOf(Nic);

        Assert.Equal((1L, 1L), (Unit.Counters.ContextCacheHits, Unit.Counters.ContextCacheMisses));
    }

    [Fact]
    public void SetContext_RequesterOnAnotherSegment_Throws()
    {
        Assert.Throws<ArgumentException>(() => Unit.SetContext(new Sbdf(1, 3, 0, 0), ContextA));
    }

    [Fact]
    public void Dma_RequesterOnAnotherSegment_IsBlockedEvenIfTheBusMatches()
    {
        Unit.SetContext(Nic, ContextA);
        MfnOf(Nic);

        Assert.Equal(FaultReason.Blocked, Unit.Translate(new Sbdf(1, 3, 0, 0), 0x10_000, DmaAccess.Read).Reason);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(5)]
    public void SetContext_LevelsTheUnitCannotWalk_Throws(int levels)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Unit.SetContext(Nic, DeviceContext.Translated(1, new Mfn(0x100), levels)));
    }

    [Fact]
    public void SetContext_RootBeyondHostMemory_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Unit.SetContext(Nic, DeviceContext.Translated(1, new Mfn(1UL << 30), 4)));
    }

    [Fact]
    public void GetContext_NeverWritten_IsBlocked()
    {
        Assert.Equal(DeviceContext.Blocked, Unit.GetContext(new Sbdf(0, 0xFF, 31, 7)));
    }

    protected Mfn MfnOf(Sbdf requester) => Unit.Translate(requester, 0x10_000, DmaAccess.Read).Mfn;
}

public sealed class VtdContextCacheTests : ContextCacheTests<VtdSecondLevel>
{
    [Fact]
    public void BlockedEntry_IsNotCached_SoANewEntryNeedsNoInvalidation()
    {
        Assert.Equal(FaultReason.Blocked, Unit.Translate(Nic, 0x10_000, DmaAccess.Read).Reason);

        Unit.SetContext(Nic, ContextA);

        Assert.Equal(new Mfn(0xA000), MfnOf(Nic));
    }

    [Fact]
    public void ContextWords_HoldTheVtdEncoding()
    {
        Unit.SetContext(Nic, DeviceContext.Translated(0x2A, new Mfn(0x12345), 4));

        Assert.Equal((0x1234_5001UL, 0x2A02UL), Unit.ContextWords(Nic));
        Assert.Equal((0UL, 0UL), Unit.ContextWords(Disk));
    }
}

public sealed class AmdContextCacheTests : ContextCacheTests<AmdV1>
{
    [Fact]
    public void BlockedEntry_IsCached_UntilInvalidated()
    {
        Assert.Equal(FaultReason.Blocked, Unit.Translate(Nic, 0x10_000, DmaAccess.Read).Reason);

        Unit.SetContext(Nic, ContextA);
        Assert.Equal(FaultReason.Blocked, Unit.Translate(Nic, 0x10_000, DmaAccess.Read).Reason);

        Unit.InvalidateContextDevice(Nic);
        Assert.Equal(new Mfn(0xA000), MfnOf(Nic));
    }

    [Fact]
    public void ContextWords_NeverWritten_HoldTheBlockingDte()
    {
        Assert.Equal((0x3UL, 0UL), Unit.ContextWords(Disk));
    }
}
