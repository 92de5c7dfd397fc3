using PvIommu.Platform.PageTables;

namespace PvIommu.Platform.Tests.PageTables;

/// <summary>Entry encodings checked against values computed by hand from the specifications.</summary>
public class PteFormatTests
{
    // VT-d rev 4.1 §9.8: R bit 0, W bit 1, PS bit 7, SNP bit 11, ADDR bits 51:12.
    [Fact]
    public void Vtd_Leaf4K_ReadWrite_SetsRWAndAddress()
    {
        Assert.Equal(0x0000_0001_2345_6003UL, VtdSecondLevel.Leaf(0x123456, 1, PteAccess.ReadWrite));
    }

    [Fact]
    public void Vtd_Leaf2M_ReadOnlySnooped_SetsPsAndSnp()
    {
        // 0x200 << 12 = 0x200000; R (1) | PS (0x80) | SNP (0x800).
        Assert.Equal(0x0000_0000_0020_0881UL, VtdSecondLevel.Leaf(0x200, 2, PteAccess.Read | PteAccess.Cache));
    }

    [Fact]
    public void Vtd_Leaf1G_WriteOnly_SetsPs()
    {
        Assert.Equal(0x0000_0000_4000_0082UL, VtdSecondLevel.Leaf(0x40000, 3, PteAccess.Write));
    }

    [Fact]
    public void Vtd_TableEntry_CarriesReadWriteWithoutPs()
    {
        var e = VtdSecondLevel.Table(0xABCDE, 4);
        Assert.Equal(0x0000_0000_ABCD_E003UL, e);
        Assert.False(VtdSecondLevel.IsLeaf(e, 4));
        Assert.True(VtdSecondLevel.IsLeaf(e, 1));
    }

    [Fact]
    public void Vtd_EntryWithoutRW_IsNotPresent()
    {
        Assert.False(VtdSecondLevel.IsPresent(0x0000_0001_2345_6000UL));
        Assert.True(VtdSecondLevel.IsPresent(0x2));
    }

    [Fact]
    public void Vtd_AddressField_DropsBitsAbove51()
    {
        Assert.Equal(0x000F_FFFF_FFFF_F003UL, VtdSecondLevel.Leaf(ulong.MaxValue >> 12, 1, PteAccess.ReadWrite));
    }

    // AMD 48882 §2.2.3: PR bit 0, NextLevel 11:9, ADDR 51:12, FC bit 60, IR bit 61, IW bit 62.
    [Fact]
    public void Amd_Leaf4K_ReadWrite_SetsPrIrIwAndLevelZero()
    {
        Assert.Equal(0x6000_0001_2345_6001UL, AmdV1.Leaf(0x123456, 1, PteAccess.ReadWrite));
    }

    [Fact]
    public void Amd_Leaf2M_ReadCoherent_HasNextLevelZero()
    {
        var e = AmdV1.Leaf(0x200, 2, PteAccess.Read | PteAccess.Cache);
        Assert.Equal(0x3000_0000_0020_0001UL, e);
        Assert.True(AmdV1.IsLeaf(e, 2));
        Assert.Equal(0, AmdV1.NextLevel(e));
    }

    [Fact]
    public void Amd_Pde_PointsAtNextLevel()
    {
        // A level-4 PDE points at a level-3 table: NextLevel = 3 → bits 11:9 = 011 → 0x600.
        var e = AmdV1.Table(0xABCDE, 4);
        Assert.Equal(0x6000_0000_ABCD_E601UL, e);
        Assert.Equal(3, AmdV1.NextLevel(e));
        Assert.False(AmdV1.IsLeaf(e, 4));
    }

    [Theory]
    [InlineData(PteAccess.Read)]
    [InlineData(PteAccess.Write)]
    [InlineData(PteAccess.ReadWrite | PteAccess.Cache)]
    public void BothFormats_AccessRoundTrips(PteAccess access)
    {
        Assert.Equal(access, VtdSecondLevel.Access(VtdSecondLevel.Leaf(7, 1, access)));
        Assert.Equal(access, AmdV1.Access(AmdV1.Leaf(7, 1, access)));
        Assert.Equal(7UL, VtdSecondLevel.Address(VtdSecondLevel.Leaf(7, 2, access)));
        Assert.Equal(7UL, AmdV1.Address(AmdV1.Leaf(7, 3, access)));
    }
}
