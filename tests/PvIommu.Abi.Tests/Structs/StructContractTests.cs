using PvIommu.Abi.Catalog;

namespace PvIommu.Abi.Tests.Structs;

/// <summary>
/// What every struct promises (spec §2: "pad" bytes are ignored on input and written as zero;
/// style habit 4): round trip, padding, exact size, and short spans as bugs.
/// </summary>
public class StructContractTests
{
    public static TheoryData<string> Names => [.. StructCase.All.Keys];

    [Fact]
    public void Cases_EveryCatalogueStruct_HasACase() =>
        Assert.Equal(AbiCatalog.Structs.Select(s => s.Name).Order(), StructCase.All.Keys.Order());

    [Theory]
    [MemberData(nameof(Names))]
    public void Size_OfEachStruct_EqualsCatalogueSize(string name) =>
        Assert.Equal(StructCase.All[name].Layout.Size, StructCase.All[name].Size);

    [Theory]
    [MemberData(nameof(Names))]
    public void ReadAfterWrite_Sample_RoundTrips(string name)
    {
        var c = StructCase.All[name];
        var bytes = new byte[c.Size];
        c.WriteSample(bytes);
        Assert.True(c.ReadsAsSample(bytes));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Sample_EveryField_IsNonZero(string name)
    {
        // Guards the samples: a field left zero would hide an encoding at the wrong offset.
        var c = StructCase.All[name];
        var bytes = new byte[c.Size];
        c.WriteSample(bytes);
        foreach (var field in c.Layout.Fields.Where(f => !f.IsPadding))
        {
            Assert.True(
                bytes.AsSpan(field.Offset, field.Size).ContainsAnyExcept((byte)0),
                $"{name}.{field.Name} is zero in the sample");
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Write_OverGarbage_ZeroesPaddingAndTouchesNothingPastSize(string name)
    {
        var c = StructCase.All[name];
        var bytes = new byte[c.Size + 8];
        bytes.AsSpan().Fill(0xFF);

        c.WriteSample(bytes);

        foreach (var pad in c.Layout.Fields.Where(f => f.IsPadding))
        {
            Assert.True(bytes.AsSpan(pad.Offset, pad.Size).IndexOfAnyExcept((byte)0) < 0, $"{name}.{pad.Name} is not zero");
        }

        Assert.All(bytes[c.Size..], b => Assert.Equal(0xFF, b));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Read_GarbageInPadding_IsIgnored(string name)
    {
        var c = StructCase.All[name];
        var bytes = new byte[c.Size];
        c.WriteSample(bytes);
        foreach (var pad in c.Layout.Fields.Where(f => f.IsPadding))
        {
            bytes.AsSpan(pad.Offset, pad.Size).Fill(0xA5);
        }

        Assert.True(c.ReadsAsSample(bytes));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Read_SpanShorterThanSize_Throws(string name)
    {
        var c = StructCase.All[name];
        var error = Assert.Throws<ArgumentException>(() => c.Read(new byte[c.Size - 1]));
        Assert.Equal("source", error.ParamName);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Write_SpanShorterThanSize_ThrowsAndWritesNothing(string name)
    {
        var c = StructCase.All[name];
        var bytes = new byte[c.Size - 1];

        var error = Assert.Throws<ArgumentException>(() => c.WriteSample(bytes));

        Assert.Equal("destination", error.ParamName);
        Assert.All(bytes, b => Assert.Equal(0, b));
    }
}
