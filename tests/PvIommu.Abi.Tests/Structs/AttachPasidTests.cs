using PvIommu.Abi.Structs;

namespace PvIommu.Abi.Tests.Structs;

/// <summary>pv_iommu_attach_pasid, spec §2: size 12, the layout of reattach_device (declared, not implemented).</summary>
public class AttachPasidTests
{
    internal static readonly AttachPasid Sample = new()
    {
        CtxNo = 0x0002,
        Dev = new PciDevice { Seg = 0x0000, Bus = 0xFF, DevFn = 0xF8 },
        Pasid = 0x0000002A,
    };

    // Hand-computed little-endian encoding of Sample, fields separated by '|'.
    internal const string Vector =
        "02 00 | 00 00 FF F8 | 00 00 | 2A 00 00 00";

    [Fact]
    public void Write_Sample_GivesHandComputedBytes() =>
        Assert.Equal(Hex.Bytes(Vector), Hex.Encode(Sample, AttachPasid.Size));

    [Fact]
    public void Read_HandComputedBytes_GivesSample() =>
        Assert.Equal(Sample, AttachPasid.Read(Hex.Bytes(Vector)));
}
