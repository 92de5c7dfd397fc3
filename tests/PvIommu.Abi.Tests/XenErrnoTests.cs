namespace PvIommu.Abi.Tests;

/// <summary>spec §1: a call returns 0 or a negative Xen errno.</summary>
public class XenErrnoTests
{
    [Fact]
    public void ToReturnValue_Enoent_IsMinusTwo() => Assert.Equal(-2, XenErrno.ENOENT.ToReturnValue());

    [Fact]
    public void XenErrno_EveryValue_IsPositive() => Assert.All(Enum.GetValues<XenErrno>(), e => Assert.True((int)e > 0));

    [Fact]
    public void FromReturnValue_MinusTwentyTwo_IsEinval() => Assert.Equal(XenErrno.EINVAL, XenErrnos.FromReturnValue(-22));

    [Fact]
    public void FromReturnValue_EveryErrno_RoundTrips() =>
        Assert.All(Enum.GetValues<XenErrno>(), e => Assert.Equal(e, XenErrnos.FromReturnValue(e.ToReturnValue())));

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(-3)]
    [InlineData(int.MinValue)]
    public void TryFromReturnValue_NotAKnownNegativeErrno_IsFalse(int returnValue) =>
        Assert.False(XenErrnos.TryFromReturnValue(returnValue, out _));

    [Fact]
    public void FromReturnValue_Success_Throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => XenErrnos.FromReturnValue(0));

    [Fact]
    public void ReturnName_Enoent_IsMinusEnoent() => Assert.Equal("-ENOENT", XenErrno.ENOENT.ReturnName());

    [Theory]
    [InlineData(0, "0")]
    [InlineData(-95, "-EOPNOTSUPP")]
    [InlineData(-1000, "-1000")]
    [InlineData(7, "7")]
    public void Describe_ReturnValue_PrintsNameOrNumber(int returnValue, string expected) =>
        Assert.Equal(expected, XenErrnos.Describe(returnValue));
}
