using PvIommu.Abi.Structs;

namespace PvIommu.Abi.Tests.Structs;

/// <summary>pv_iommu_remote_cmd, spec §2: size 16; domid u16 @0, subop u16 @2, pad @4, arg (guest handle, 8 bytes) @8.</summary>
public class RemoteCmdTests
{
    internal static readonly RemoteCmd Sample = new()
    {
        Domid = 0x0001,
        Subop = SubOp.MapPages,
        Arg = 0x00007FFF12345678,
    };

    // Hand-computed little-endian encoding of Sample, fields separated by '|'.
    internal const string Vector =
        "01 00 | 06 00 | 00 00 00 00 | 78 56 34 12 FF 7F 00 00";

    [Fact]
    public void Write_Sample_GivesHandComputedBytes() =>
        Assert.Equal(Hex.Bytes(Vector), Hex.Encode(Sample, RemoteCmd.Size));

    [Fact]
    public void Read_HandComputedBytes_GivesSample() =>
        Assert.Equal(Sample, RemoteCmd.Read(Hex.Bytes(Vector)));

    [Fact]
    public void Read_UnknownSubop_KeepsTheNumber()
    {
        // The remote_cmd handler, not the decoder, answers an unknown inner sub-op.
        var bytes = Hex.Bytes("00 00 | FF FF | 00 00 00 00 | 00 00 00 00 00 00 00 00");
        Assert.Equal((SubOp)0xFFFF, RemoteCmd.Read(bytes).Subop);
    }
}
