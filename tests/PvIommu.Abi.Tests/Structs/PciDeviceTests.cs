using PvIommu.Abi.Structs;

namespace PvIommu.Abi.Tests.Structs;

/// <summary>pv_iommu_pci_device, spec §2: seg u16 @0, bus u8 @2, devfn u8 @3 (Xen's physdev_pci_device).</summary>
public class PciDeviceTests
{
    internal static readonly PciDevice Sample = new()
    {
        Seg = 0x0102,
        Bus = 0x03,
        DevFn = 0x04,
    };

    // Hand-computed little-endian encoding of Sample, fields separated by '|'.
    internal const string Vector =
        "02 01 | 03 | 04";

    [Fact]
    public void Write_Sample_GivesHandComputedBytes() =>
        Assert.Equal(Hex.Bytes(Vector), Hex.Encode(Sample, PciDevice.Size));

    [Fact]
    public void Read_HandComputedBytes_GivesSample() =>
        Assert.Equal(Sample, PciDevice.Read(Hex.Bytes(Vector)));
}
