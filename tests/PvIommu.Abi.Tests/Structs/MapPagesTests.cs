using PvIommu.Abi.Structs;

namespace PvIommu.Abi.Tests.Structs;

/// <summary>pv_iommu_map_pages, spec §2: size 40; ctx_no u16 @0, pad @2, gfn u64 @8, dfn u64 @16, map_flags @24, pgsize @28, nr_pages @32, mapped @36.</summary>
public class MapPagesTests
{
    internal static readonly MapPages Sample = new()
    {
        CtxNo = 0x0102,
        Gfn = 0x1122334455667788,
        Dfn = 0x99AABBCCDDEEFF00,
        MapFlags = MapFlags.Readable | MapFlags.Writeable,
        Pgsize = PageSizes.Size4K,
        NrPages = 0x0A0B0C0D,
        Mapped = 0x01020304,
    };

    // Hand-computed little-endian encoding of Sample, fields separated by '|'.
    internal const string Vector =
        "02 01 | 00 00 00 00 00 00 | 88 77 66 55 44 33 22 11 | 00 FF EE DD CC BB AA 99 | 03 00 00 00 | 00 10 00 00 | 0D 0C 0B 0A | 04 03 02 01";

    [Fact]
    public void Write_Sample_GivesHandComputedBytes() =>
        Assert.Equal(Hex.Bytes(Vector), Hex.Encode(Sample, MapPages.Size));

    [Fact]
    public void Read_HandComputedBytes_GivesSample() =>
        Assert.Equal(Sample, MapPages.Read(Hex.Bytes(Vector)));

    [Fact]
    public void Write_Gfn_LandsAtBytes8To15LittleEndian()
    {
        var bytes = Hex.Encode(new MapPages { Gfn = 0x1122334455667788 }, MapPages.Size);

        Assert.Equal(Hex.Bytes("88 77 66 55 44 33 22 11"), bytes[8..16]);
        Assert.All(bytes[..8], b => Assert.Equal(0, b));
        Assert.All(bytes[16..], b => Assert.Equal(0, b));
    }

    [Fact]
    public void Read_UnknownMapFlagBits_ArePreserved()
    {
        // spec §2: unknown bits get -EINVAL, so decoding must keep them for the handler to see.
        var bytes = Hex.Encode(Sample, MapPages.Size);
        bytes[MapPages.MapFlagsOffset + 3] = 0x80;

        var decoded = MapPages.Read(bytes);

        Assert.Equal(0x8000_0003u, (uint)decoded.MapFlags);
        Assert.NotEqual(MapFlags.None, decoded.MapFlags & ~KnownFlags.Map);
    }
}
