using PvIommu.Platform.Pci;

namespace PvIommu.Platform.Tests.Pci;

/// <summary>PCI addresses: packing, parsing and printing.</summary>
public sealed class SbdfTests
{
    [Theory]
    [InlineData("0000:00:00.0")]
    [InlineData("0000:03:1f.7")]
    [InlineData("ffff:ff:1f.7")]
    [InlineData("0001:0a:02.3")]
    public void Parse_ThenToString_RoundTrips(string text)
    {
        Assert.Equal(text, Sbdf.Parse(text).ToString());
    }

    [Fact]
    public void Parse_ShortForm_MeansSegmentZero()
    {
        Assert.Equal(new Sbdf(0, 0x3, 0x1F, 7), Sbdf.Parse("03:1f.7"));
    }

    [Fact]
    public void Parse_UpperCaseAndShortFields_AreAccepted()
    {
        Assert.Equal(new Sbdf(0xA, 0xB, 0xC, 1), Sbdf.Parse("A:B:C.1"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("00:00")]
    [InlineData("0000:00:20.0")] // device 32
    [InlineData("0000:00:00.8")] // function 8
    [InlineData("0000:100:00.0")] // bus with 3 digits
    [InlineData("10000:00:00.0")] // segment with 5 digits
    [InlineData("0:0:0:0.0")]
    [InlineData("00:00.0.0")]
    [InlineData("g0:00.0")]
    [InlineData("00:00.")]
    [InlineData(":00:00.0")]
    [InlineData(" 00:00.0")]
    [InlineData("00:-1.0")]
    public void TryParse_BadText_ReturnsFalse(string? text)
    {
        Assert.False(Sbdf.TryParse(text, out var sbdf));
        Assert.Equal(default, sbdf);
    }

    [Fact]
    public void Parse_BadText_ThrowsFormatException()
    {
        Assert.Throws<FormatException>(() => Sbdf.Parse("nope"));
    }

    [Theory]
    [InlineData(32, 0)]
    [InlineData(0, 8)]
    public void Constructor_DeviceOrFunctionOutOfRange_Throws(byte device, byte function)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sbdf(0, 0, device, function));
    }

    [Fact]
    public void Value_PacksSegmentBusDeviceFunction()
    {
        var sbdf = new Sbdf(0x1234, 0x56, 0x1F, 5);

        Assert.Equal(0x1234_56FDu, sbdf.Value);
        Assert.Equal(0xFD, sbdf.DevFn);
        Assert.Equal(sbdf, Sbdf.FromDevFn(0x1234, 0x56, 0xFD));
    }

    [Fact]
    public void WithFunction_KeepsTheDevice()
    {
        Assert.Equal(new Sbdf(0, 3, 2, 6), new Sbdf(0, 3, 2, 1).WithFunction(6));
    }

    [Fact]
    public void CompareTo_OrdersBySegmentThenBusThenDevFn()
    {
        var ordered = new[] { Sbdf.Parse("0001:00:00.0"), Sbdf.Parse("0000:02:00.0"), Sbdf.Parse("0000:01:1f.7"), Sbdf.Parse("0000:01:00.1") }
            .Order()
            .Select(s => s.ToString());

        Assert.Equal(["0000:01:00.1", "0000:01:1f.7", "0000:02:00.0", "0001:00:00.0"], ordered);
    }
}
