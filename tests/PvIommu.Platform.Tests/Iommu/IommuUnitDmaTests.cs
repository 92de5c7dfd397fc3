using PvIommu.Platform.Iommu;
using PvIommu.Platform.Memory;
using PvIommu.Platform.PageTables;
using PvIommu.Platform.Pci;

namespace PvIommu.Platform.Tests.Iommu;

/// <summary>DMA and single translations through one unit, over hand-built tables; run once per format.</summary>
public abstract class IommuUnitDmaTests<TFormat>
    where TFormat : struct, IPteFormat
{
    protected const ushort Did = UnitBed<TFormat>.Did;
    protected static readonly Sbdf Nic = UnitBed<TFormat>.Nic;
    private readonly HandTables<TFormat> _tables;

    protected IommuUnitDmaTests()
    {
        var bed = new UnitBed<TFormat>();
        Memory = bed.Memory;
        Unit = bed.Unit;
        _tables = bed.Tables;
    }

    protected MachineMemory Memory { get; }

    protected IommuUnit Unit { get; }

    [Fact]
    public void Write_ThenRead_MovesTheBytes()
    {
        _tables.Map(0x10, 0x2000, 1, PteAccess.ReadWrite);
        byte[] data = [1, 2, 3, 4, 5];

        Assert.True(Unit.Write(Nic, 0x10_008, data).IsOk);
        var back = new byte[5];
        Assert.True(Unit.Read(Nic, 0x10_008, back).IsOk);

        Assert.Equal(data, back);
        Assert.Equal(data, ReadHost(0x2000, 8, 5));
    }

    [Fact]
    public void Write_AcrossAFrameBoundary_LandsInBothFrames()
    {
        _tables.Map(0x10, 0x2000, 1, PteAccess.ReadWrite);
        _tables.Map(0x11, 0x3000, 1, PteAccess.ReadWrite);
        var data = Enumerable.Range(0, 100).Select(i => (byte)(i + 1)).ToArray();

        Assert.True(Unit.Write(Nic, 0x10_FB0, data).IsOk);

        Assert.Equal(data[..80], ReadHost(0x2000, 0xFB0, 80));
        Assert.Equal(data[80..], ReadHost(0x3000, 0, 20));
    }

    [Fact]
    public void Dma_EndingAtTheFrameEnd_IsOnePieceAndNeverReachesTheNextFrame()
    {
        // Frame 0x11 is unmapped: a transfer that counted a piece there would fault.
        _tables.Map(0x10, 0x2000, 1, PteAccess.ReadWrite);
        var data = Enumerable.Range(0, 0x50).Select(i => (byte)(i + 7)).ToArray();

        Assert.True(Unit.Write(Nic, 0x10_FB0, data).IsOk);
        var back = new byte[data.Length];
        Assert.True(Unit.Read(Nic, 0x10_FB0, back).IsOk);

        Assert.Equal(data, back);
        Assert.Equal(data, ReadHost(0x2000, 0xFB0, data.Length));
        Assert.Equal(2, Unit.Counters.Translations);
        Assert.Equal(0, Unit.Counters.Faults);

        // One byte more crosses into frame 0x11, and faults there.
        Assert.Equal(DmaResult.Fault(FaultReason.NotMapped, 0x11_000), Unit.Write(Nic, 0x10_FB0, new byte[data.Length + 1]));
        Assert.Equal(data, ReadHost(0x2000, 0xFB0, data.Length));
    }

    [Fact]
    public void Read_AcrossAFrameBoundary_ReadsBothFramesOrNothing()
    {
        _tables.Map(0x10, 0x2000, 1, PteAccess.ReadWrite);
        _tables.Map(0x11, 0x3000, 1, PteAccess.Read);
        var data = Enumerable.Range(0, 100).Select(i => (byte)(i + 1)).ToArray();
        Assert.True(Unit.Write(Nic, 0x10_FB0, data.AsSpan(0, 80)).IsOk);
        Memory.Write(new Mfn(0x3000), 0, data.AsSpan(80));

        var back = new byte[100];
        Assert.True(Unit.Read(Nic, 0x10_FB0, back).IsOk);
        Assert.Equal(data, back);

        // One byte further the read reaches unmapped 0x12: it faults there and fills nothing.
        var refused = new byte[0x1051];
        Assert.Equal(DmaResult.Fault(FaultReason.NotMapped, 0x12_000), Unit.Read(Nic, 0x10_FB0, refused));
        Assert.Equal(new byte[refused.Length], refused);
    }

    [Fact]
    public void Write_SecondFrameUnmapped_WritesNothingAndLogsOneFault()
    {
        _tables.Map(0x10, 0x2000, 1, PteAccess.ReadWrite);
        var touched = Memory.TouchedFrames;

        var result = Unit.Write(Nic, 0x10_FF0, Enumerable.Repeat((byte)0xAA, 32).ToArray());

        Assert.Equal(DmaResult.Fault(FaultReason.NotMapped, 0x11_000), result);
        Assert.Equal(touched, Memory.TouchedFrames);
        Assert.Equal(new byte[16], ReadHost(0x2000, 0xFF0, 16));
        var record = Assert.Single(Unit.Faults.Snapshot());
        Assert.Equal(new FaultRecord(1, Nic, 0x11_000, DmaAccess.Write, FaultReason.NotMapped), record);
        Assert.Equal(1, Unit.Counters.Faults);
    }

    [Fact]
    public void Read_WriteOnlyMapping_FaultsReadNotPermitted()
    {
        _tables.Map(0x10, 0x2000, 1, PteAccess.Write);

        Assert.Equal(DmaResult.Fault(FaultReason.ReadNotPermitted, 0x10_004), Unit.Read(Nic, 0x10_004, new byte[4]));
    }

    [Fact]
    public void Write_ReadOnlyMapping_FaultsWriteNotPermittedAndWritesNothing()
    {
        _tables.Map(0x10, 0x2000, 1, PteAccess.Read);

        Assert.Equal(DmaResult.Fault(FaultReason.WriteNotPermitted, 0x10_000), Unit.Write(Nic, 0x10_000, [0xFF]));
        Assert.Equal([0], ReadHost(0x2000, 0, 1));
    }

    [Fact]
    public void Dma_RequesterWithoutContext_FaultsBlocked()
    {
        var other = new Sbdf(0, 4, 0, 0);

        Assert.Equal(DmaResult.Fault(FaultReason.Blocked, 0x1000), Unit.Read(other, 0x1000, new byte[8]));
        Assert.Equal(FaultReason.Blocked, Assert.Single(Unit.Faults.Snapshot()).Reason);
    }

    [Fact]
    public void Dma_AboveTheTableWidth_FaultsBeyondWidth()
    {
        Assert.Equal(DmaResult.Fault(FaultReason.BeyondWidth, 1UL << 48), Unit.Read(Nic, 1UL << 48, new byte[8]));
    }

    [Fact]
    public void Dma_FiveLevelContext_ReachesAbove48Bits()
    {
        var tables = new HandTables<TFormat>(Memory, 0x800, 5);
        tables.Map(1UL << 40, 0x4000, 1, PteAccess.ReadWrite);
        var device = new Sbdf(0, 5, 0, 0);
        Unit.SetContext(device, DeviceContext.Translated(9, tables.Root, 5));

        Assert.True(Unit.Write(device, (1UL << 52) | 0x10, [42]).IsOk);
        Assert.Equal([42], ReadHost(0x4000, 0x10, 1));
        Assert.Equal(FaultReason.BeyondWidth, Unit.Read(device, 1UL << 57, new byte[1]).Reason);
    }

    [Fact]
    public void Read_Inside2MSuperpage_UsesTheOffset()
    {
        _tables.Map(0x200, 0x4_0000, 2, PteAccess.ReadWrite);
        Memory.Write(new Mfn(0x4_0123), 0x10, [9, 8, 7]);

        var back = new byte[3];
        Assert.True(Unit.Read(Nic, (0x323UL << 12) | 0x10, back).IsOk);

        Assert.Equal([9, 8, 7], back);
    }

    [Fact]
    public void Write_LongerThanTheStackFrameList_MovesEveryByte()
    {
        for (var i = 0UL; i < 64; i++)
        {
            _tables.Map(0x100 + i, 0x8000 + (2 * i), 1, PteAccess.ReadWrite);
        }

        var data = Enumerable.Range(0, 64 * Frame.Size).Select(i => (byte)(i * 7)).ToArray();
        Assert.True(Unit.Write(Nic, 0x100_000, data).IsOk);

        var back = new byte[data.Length];
        Assert.True(Unit.Read(Nic, 0x100_000, back).IsOk);
        Assert.Equal(data, back);
        Assert.Equal(data[(63 * Frame.Size)..], ReadHost(0x8000 + 126, 0, Frame.Size));
    }

    [Fact]
    public void Dma_PassThrough_IsIdentityBoundedByHostMemory()
    {
        var device = new Sbdf(0, 6, 0, 0);
        Unit.SetContext(device, DeviceContext.PassThrough(1));

        Assert.True(Unit.Write(device, 0x5000_0010, [5]).IsOk);
        Assert.Equal([5], ReadHost(0x5_0000, 0x10, 1));
        Assert.Equal(FaultReason.NotMapped, Unit.Read(device, Memory.FrameCount << Frame.Shift, new byte[1]).Reason);
    }

    [Fact]
    public void Translate_Fault_IsReturnedButNotLogged()
    {
        var result = Unit.Translate(Nic, 0x99_000, DmaAccess.Read);

        Assert.Equal(FaultReason.NotMapped, result.Reason);
        Assert.Equal(0, Unit.Faults.Count);
    }

    [Fact]
    public void Translate_WalksOnceThenHitsTheIotlb()
    {
        _tables.Map(0x10, 0x2000, 1, PteAccess.ReadWrite);

        var first = Unit.Translate(Nic, 0x10_123, DmaAccess.Write);
        var second = Unit.Translate(Nic, 0x10_456, DmaAccess.Read);

        Assert.Equal(new TranslationResult(FaultReason.None, new Mfn(0x2000), PteAccess.ReadWrite, 1, 0x2000_123), first);
        Assert.Equal(0x2000_456UL, second.HostAddress);
        var counters = Unit.Counters;
        Assert.Equal((2L, 1L, 4L), (counters.Translations, counters.Walks, counters.WalkSteps));
        Assert.Equal((1L, 1L, 1L), (counters.Iotlb.Hits, counters.Iotlb.Misses, counters.Iotlb.Fills));
    }

    [Fact]
    public void Translate_AfterPteChange_ServesStaleEntryUntilPageInvalidation()
    {
        _tables.Map(0x10, 0x2000, 1, PteAccess.ReadWrite);
        Unit.Translate(Nic, 0x10_000, DmaAccess.Read);
        _tables.Map(0x10, 0x3000, 1, PteAccess.ReadWrite);

        Assert.Equal(new Mfn(0x2000), Unit.Translate(Nic, 0x10_000, DmaAccess.Read).Mfn);

        Unit.Iotlb.InvalidatePages(Did, new Dfn(0x10), 1);
        Assert.Equal(new Mfn(0x3000), Unit.Translate(Nic, 0x10_000, DmaAccess.Read).Mfn);
    }

    [Fact]
    public void Dma_AfterUnmap_StillReachesOldFrameUntilInvalidated()
    {
        _tables.Map(0x10, 0x2000, 1, PteAccess.ReadWrite);
        Assert.True(Unit.Write(Nic, 0x10_000, [1]).IsOk);
        _tables.Unmap(0x10, 1);

        Assert.True(Unit.Write(Nic, 0x10_000, [2]).IsOk);
        Assert.Equal([2], ReadHost(0x2000, 0, 1));

        Unit.Iotlb.InvalidateDomain(Did);
        Assert.Equal(FaultReason.NotMapped, Unit.Write(Nic, 0x10_000, [3]).Reason);
        Assert.Equal([2], ReadHost(0x2000, 0, 1));
    }

    [Fact]
    public void Dma_NewMappingWithoutInvalidation_IsSeenAtOnce()
    {
        Assert.Equal(FaultReason.NotMapped, Unit.Read(Nic, 0x10_000, new byte[1]).Reason);
        _tables.Map(0x10, 0x2000, 1, PteAccess.ReadWrite);

        Assert.True(Unit.Read(Nic, 0x10_000, new byte[1]).IsOk);
    }

    [Fact]
    public void Dma_ZeroLength_IsOkAndTranslatesNothing()
    {
        Assert.True(Unit.Write(Nic, 0xDEAD_0000, []).IsOk);
        Assert.Equal(0, Unit.Counters.Translations);
    }

    private byte[] ReadHost(ulong mfn, int offset, int length)
    {
        var bytes = new byte[length];
        Memory.Read(new Mfn(mfn), offset, bytes);
        return bytes;
    }
}

public sealed class VtdIommuUnitDmaTests : IommuUnitDmaTests<VtdSecondLevel>;

public sealed class AmdIommuUnitDmaTests : IommuUnitDmaTests<AmdV1>;
