using PvIommu.Devices.Network;

namespace PvIommu.Devices.Tests.Network;

/// <summary>The receive descriptor's bytes (8254x legacy format), as the device and the driver encode them.</summary>
public class RxDescriptorTests
{
    [Fact]
    public void Encode_WritesTheLegacyLayout_AndReadsBack()
    {
        var bytes = Enumerable.Repeat((byte)0xEE, 20).ToArray();

        RxDescriptor.Encode(bytes, 0x1122_3344_5566_7788, 0x0FA0, RxStatus.DescriptorDone | RxStatus.EndOfPacket, RxErrors.RxDataError);

        Assert.Equal(
            new byte[] { 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0xA0, 0x0F, 0, 0, 0x03, 0x80, 0, 0, 0xEE, 0xEE, 0xEE, 0xEE },
            bytes);
        Assert.Equal(
            new RxDescriptor(0x1122_3344_5566_7788, 0x0FA0, RxStatus.DescriptorDone | RxStatus.EndOfPacket, RxErrors.RxDataError),
            RxDescriptor.Read(bytes));
    }

    [Fact]
    public void WriteAndWriteBack_MatchEncode_WriteBackLeavesTheAddress()
    {
        var descriptor = new RxDescriptor(0xABCD_0000, 64, RxStatus.DescriptorDone, RxErrors.None);
        var encoded = new byte[RxDescriptor.Size];
        var written = new byte[RxDescriptor.Size];
        RxDescriptor.Encode(encoded, descriptor.Buffer, descriptor.Length, descriptor.Status, descriptor.Errors);
        descriptor.Write(written);
        Assert.Equal(encoded, written);

        var posted = new byte[RxDescriptor.Size];
        RxDescriptor.Posted(0x5000).Write(posted);
        descriptor.WriteBack(posted.AsSpan(RxDescriptor.WriteBackOffset));
        Assert.Equal(new RxDescriptor(0x5000, 64, RxStatus.DescriptorDone, RxErrors.None), RxDescriptor.Read(posted));
        Assert.Throws<ArgumentOutOfRangeException>(() => descriptor.WriteBack(new byte[7]));
    }
}
