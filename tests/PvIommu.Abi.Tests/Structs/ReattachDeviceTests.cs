using PvIommu.Abi.Structs;

namespace PvIommu.Abi.Tests.Structs;

/// <summary>pv_iommu_reattach_device, spec §2: size 12; ctx_no u16 @0, dev {seg @2, bus @4, devfn @5}, pad @6, pasid u32 @8.</summary>
public class ReattachDeviceTests
{
    internal static readonly ReattachDevice Sample = new()
    {
        CtxNo = 0x0007,
        Dev = new PciDevice { Seg = 0x0001, Bus = 0x3A, DevFn = 0x10 },
        Pasid = 0x01020304,
    };

    // Hand-computed little-endian encoding of Sample, fields separated by '|'.
    internal const string Vector =
        "07 00 | 01 00 3A 10 | 00 00 | 04 03 02 01";

    [Fact]
    public void Write_Sample_GivesHandComputedBytes() =>
        Assert.Equal(Hex.Bytes(Vector), Hex.Encode(Sample, ReattachDevice.Size));

    [Fact]
    public void Read_HandComputedBytes_GivesSample() =>
        Assert.Equal(Sample, ReattachDevice.Read(Hex.Bytes(Vector)));

    [Fact]
    public void Write_Dev_LandsAtBytes2To5()
    {
        var bytes = Hex.Encode(new ReattachDevice { Dev = new PciDevice { Seg = 0xAABB, Bus = 0xCC, DevFn = 0xDD } }, ReattachDevice.Size);
        Assert.Equal(Hex.Bytes("00 00 | BB AA CC DD | 00 00 | 00 00 00 00"), bytes);
    }
}
