using PvIommu.Platform.Iommu;
using PvIommu.Platform.Memory;

namespace PvIommu.Platform.Tests.Iommu;

/// <summary>VT-d legacy context entries (VT-d spec §9.3), checked against values worked out by hand from the field table.</summary>
public sealed class VtdContextEntryTests
{
    [Fact]
    public void FromContext_Translated4Level_MatchesHandEncoding()
    {
        // lo: SLPTPTR 0x12345 << 12 | TT 00b << 2 | P = 0x1234_5001
        // hi: DID 0x2A << 8 | AW 010b (4-level)   = 0x2A02
        var entry = VtdContextEntry.FromContext(DeviceContext.Translated(0x2A, new Mfn(0x12345), 4), 4);

        Assert.Equal(0x0000_0000_1234_5001UL, entry.Lo);
        Assert.Equal(0x0000_0000_0000_2A02UL, entry.Hi);
    }

    [Fact]
    public void FromContext_Translated5LevelWideDid_MatchesHandEncoding()
    {
        // AW 011b = 5-level/57-bit; DID 0xFFFF fills hi bits 23:8.
        var entry = VtdContextEntry.FromContext(DeviceContext.Translated(0xFFFF, new Mfn(0xA_BCDE_F012), 5), 5);

        Assert.Equal(0x0000_ABCD_EF01_2001UL, entry.Lo);
        Assert.Equal(0x0000_0000_00FF_FF03UL, entry.Hi);
    }

    [Fact]
    public void FromContext_PassThrough_SetsTt10AndHardwareAw()
    {
        // TT 10b << 2 = 0x8, P = 1; AW is the largest the hardware supports (here 5 levels, 011b).
        var entry = VtdContextEntry.FromContext(DeviceContext.PassThrough(7), 5);

        Assert.Equal(0x9UL, entry.Lo);
        Assert.Equal(0x703UL, entry.Hi);
    }

    [Fact]
    public void FromContext_Blocked_IsAllZero()
    {
        Assert.Equal(new VtdContextEntry(0, 0), VtdContextEntry.FromContext(DeviceContext.Blocked, 4));
    }

    [Fact]
    public void Create_FaultProcessingDisable_SetsBit1()
    {
        var entry = VtdContextEntry.Create(VtdTranslationType.Translated, new Mfn(0x12345), 4, 1, faultProcessingDisable: true);

        Assert.Equal(0x1234_5003UL, entry.Lo);
        Assert.True(entry.FaultProcessingDisable);
    }

    [Fact]
    public void Fields_ReadBackFromRawWords()
    {
        var entry = new VtdContextEntry(0x0000_0000_1234_5005, 0x0000_0000_0000_2A03);

        Assert.True(entry.Present);
        Assert.Equal(VtdTranslationType.TranslatedDeviceTlb, entry.TranslationType);
        Assert.Equal(new Mfn(0x12345), entry.SecondLevelRoot);
        Assert.Equal(3, entry.AddressWidth);
        Assert.Equal(5, entry.Levels);
        Assert.Equal(0x2A, entry.DomainId);
    }

    [Theory]
    [InlineData(0x0UL, 0x0UL)] // not present
    [InlineData(0x1234_500DUL, 0x2A02UL)] // TT 11b reserved
    [InlineData(0x1234_5001UL, 0x2A04UL)] // AW 100b reserved
    [InlineData(0x1234_5001UL, 0x2A00UL)] // AW 000b (2-level) not walked
    public void ToContext_NotPresentOrReserved_Blocks(ulong lo, ulong hi)
    {
        Assert.Equal(DeviceContext.Blocked, new VtdContextEntry(lo, hi).ToContext());
    }

    [Fact]
    public void ToContext_DeviceTlbType_TranslatesLikeTt00()
    {
        Assert.Equal(DeviceContext.Translated(0x2A, new Mfn(0x12345), 4), new VtdContextEntry(0x1234_5005, 0x2A02).ToContext());
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

        Assert.Equal(context, VtdContextEntry.FromContext(context, 4).ToContext());
    }

    [Fact]
    public void Encode_WritesLittleEndianLoThenHi()
    {
        var bytes = new byte[VtdContextEntry.Size];
        new VtdContextEntry(0x0807_0605_0403_0201, 0x100F_0E0D_0C0B_0A09).Encode(bytes);

        Assert.Equal(Enumerable.Range(1, 16).Select(i => (byte)i), bytes);
        Assert.Equal(new VtdContextEntry(0x0807_0605_0403_0201, 0x100F_0E0D_0C0B_0A09), VtdContextEntry.Decode(bytes));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(6)]
    public void Create_LevelsOutside3To5_Throws(int levels)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => VtdContextEntry.Create(VtdTranslationType.Translated, new Mfn(1), levels, 0));
    }
}
