using PvIommu.Abi.Structs;

namespace PvIommu.Abi.Tests.Structs;

/// <summary>pv_iommu_detach_pasid, spec §2: size 8; dev @0, pasid u32 @4 (declared, not implemented).</summary>
public class DetachPasidTests
{
    internal static readonly DetachPasid Sample = new()
    {
        Dev = new PciDevice { Seg = 0x0010, Bus = 0x01, DevFn = 0x09 },
        Pasid = 0x00ABCDEF,
    };

    // Hand-computed little-endian encoding of Sample, fields separated by '|'.
    internal const string Vector =
        "10 00 01 09 | EF CD AB 00";

    [Fact]
    public void Write_Sample_GivesHandComputedBytes() =>
        Assert.Equal(Hex.Bytes(Vector), Hex.Encode(Sample, DetachPasid.Size));

    [Fact]
    public void Read_HandComputedBytes_GivesSample() =>
        Assert.Equal(Sample, DetachPasid.Read(Hex.Bytes(Vector)));
}
