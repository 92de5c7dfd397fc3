using PvIommu.Abi.Structs;

namespace PvIommu.Abi.Tests;

/// <summary>spec §1 and §2: sub-op numbers and the argument each one takes.</summary>
public class SubOpsTests
{
    [Fact]
    public void ArgumentSize_Noop_IsZero() => Assert.Equal(0, SubOps.ArgumentSize(SubOp.Noop));

    [Fact]
    public void ArgumentSize_MapPages_IsMapPagesSize() => Assert.Equal(MapPages.Size, SubOps.ArgumentSize(SubOp.MapPages));

    [Theory]
    [InlineData(15u)]
    [InlineData(0xFFFFu)]
    [InlineData(uint.MaxValue)]
    public void ArgumentSize_UnknownSubOp_IsUnknownSize(uint number)
    {
        Assert.Equal(SubOps.UnknownSize, SubOps.ArgumentSize((SubOp)number));
        Assert.False(SubOps.IsDefined((SubOp)number));
    }

    [Fact]
    public void IsDeclaredOnly_NestedAndPasid_AreNineToTwelve() =>
        Assert.Equal(
            [SubOp.AllocNested, SubOp.FlushNested, SubOp.AttachPasid, SubOp.DetachPasid],
            Enum.GetValues<SubOp>().Where(SubOps.IsDeclaredOnly));

    [Fact]
    public void SubOp_Numbers_AreZeroToFourteenWithoutGaps() =>
        Assert.Equal(Enumerable.Range(0, 15).Select(n => (SubOp)n), Enum.GetValues<SubOp>());

    [Fact]
    public void Hypercall_Numbers_AreXens()
    {
        Assert.Equal(43, Hypercall.IommuOp);
        Assert.Equal(13, Hypercall.Multicall);
    }
}
