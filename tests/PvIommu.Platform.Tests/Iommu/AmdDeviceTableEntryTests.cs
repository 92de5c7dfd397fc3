using PvIommu.Platform.Iommu;
using PvIommu.Platform.Memory;

namespace PvIommu.Platform.Tests.Iommu;

/// <summary>AMD-Vi device table entries (pub. 48882 §2.2.2.1), checked against values worked out by hand.</summary>
public sealed class AmdDeviceTableEntryTests
{
    [Fact]
    public void FromContext_Translated4Level_MatchesHandEncoding()
    {
        // bits 63:0: IW (62) | IR (61) | root 0x12345 << 12 | Mode 4 << 9 (0x800) | TV | V
        //          = 0x6000_0000_0000_0000 | 0x1234_5000 | 0x800 | 0x3
        // bits 127:64: DomainID 0x2A in bits 15:0
        var entry = AmdDeviceTableEntry.FromContext(DeviceContext.Translated(0x2A, new Mfn(0x12345), 4));

        Assert.Equal(0x6000_0000_1234_5803UL, entry.Lo);
        Assert.Equal(0x2AUL, entry.Hi);
    }

    [Fact]
    public void FromContext_Translated5Level_SetsMode5()
    {
        // The widest root (40 bits of frame number) fills bits 51:12; Mode 5 << 9 = 0xA00.
        var entry = AmdDeviceTableEntry.FromContext(DeviceContext.Translated(0xBEEF, new Mfn(0xFF_FFFF_FFFF), 5));

        Assert.Equal(0x600F_FFFF_FFFF_FA03UL, entry.Lo);
        Assert.Equal(0xBEEFUL, entry.Hi);
        Assert.Equal(5, entry.Mode);
    }

    [Fact]
    public void FromContext_PassThrough_IsMode0WithIrIw()
    {
        var entry = AmdDeviceTableEntry.FromContext(DeviceContext.PassThrough(5));

        Assert.Equal(0x6000_0000_0000_0003UL, entry.Lo);
        Assert.Equal(5UL, entry.Hi);
    }

    [Fact]
    public void FromContext_Blocked_IsValidMode0WithoutRights()
    {
        var entry = AmdDeviceTableEntry.FromContext(DeviceContext.Blocked);

        Assert.Equal(0x3UL, entry.Lo);
        Assert.Equal(0UL, entry.Hi);
    }

    [Fact]
    public void ToContext_InvalidEntry_PassesDmaUntranslated()
    {
        Assert.Equal(DeviceContext.PassThrough(0), new AmdDeviceTableEntry(0, 0).ToContext());
    }

    [Theory]
    [InlineData(0x6000_0000_1234_5801UL)] // V without TV
    [InlineData(0x6000_0000_1234_5E03UL)] // Mode 7 (reserved)
    [InlineData(0x0000_0000_1234_5803UL)] // translated, neither IR nor IW
    [InlineData(0x3UL)] // Mode 0, neither IR nor IW
    public void ToContext_UnusableEntries_Block(ulong lo)
    {
        Assert.Equal(DeviceContext.Blocked, new AmdDeviceTableEntry(lo, 0x2A).ToContext());
    }

    [Fact]
    public void Fields_ReadBackFromRawWords()
    {
        var entry = new AmdDeviceTableEntry(0x2000_0000_1234_5803, 0xFFFF_0000_0000_002A);

        Assert.True(entry.Valid);
        Assert.True(entry.TranslationValid);
        Assert.Equal(4, entry.Mode);
        Assert.Equal(new Mfn(0x12345), entry.Root);
        Assert.True(entry.ReadPermitted);
        Assert.False(entry.WritePermitted);
        Assert.Equal(0x2A, entry.DomainId);
    }

    [Theory]
    [InlineData(DeviceTranslation.Translated)]
    [InlineData(DeviceTranslation.PassThrough)]
    [InlineData(DeviceTranslation.Blocked)]
    public void ToContext_OfFromContext_RoundTrips(DeviceTranslation translation)
    {
        var context = translation switch
        {
            DeviceTranslation.Translated => DeviceContext.Translated(99, new Mfn(0x4_0000), 4),
            DeviceTranslation.PassThrough => DeviceContext.PassThrough(3),
            _ => DeviceContext.Blocked,
        };

        Assert.Equal(context, AmdDeviceTableEntry.FromContext(context).ToContext());
    }

    [Fact]
    public void Encode_Writes32BytesWithUpperHalfZero()
    {
        var bytes = Enumerable.Repeat((byte)0xCC, AmdDeviceTableEntry.Size).ToArray();
        new AmdDeviceTableEntry(0x0807_0605_0403_0201, 0x100F_0E0D_0C0B_0A09).Encode(bytes);

        Assert.Equal(Enumerable.Range(1, 16).Select(i => (byte)i).Concat(new byte[16]), bytes);
        Assert.Equal(new AmdDeviceTableEntry(0x0807_0605_0403_0201, 0x100F_0E0D_0C0B_0A09), AmdDeviceTableEntry.Decode(bytes));
    }

    [Fact]
    public void Create_Mode7_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => AmdDeviceTableEntry.Create(7, new Mfn(1), true, true, 0));
    }
}
