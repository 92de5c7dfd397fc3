namespace PvIommu.Abi.Tests.Golden;

/// <summary>
/// Freezes the ABI (style habit 5): every size, offset, sub-op number, flag bit, errno and
/// constant as a checked-in table. A difference means the C# side changed an ABI fact.
/// </summary>
public class GoldenTests
{
    private const string Warning =
        "The PV-IOMMU ABI changed: this breaks drivers. Do not update the golden file unless the ABI change is " +
        "intended and the C header (clients/c/include/pv-iommu.h) and docs/abi.md change too.";

    [Fact]
    public void Catalogue_MatchesGoldenFile_LineByLine()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Golden", "abi.golden.txt");
        var expected = File.ReadAllLines(path).Where(l => l.Length > 0 && !l.StartsWith('#')).ToArray();
        var actual = GoldenTable.Render().ToArray();

        for (var i = 0; i < Math.Max(expected.Length, actual.Length); i++)
        {
            var want = i < expected.Length ? expected[i] : "(nothing)";
            var got = i < actual.Length ? actual[i] : "(nothing)";
            Assert.True(
                want == got,
                $"{Warning}\nFirst difference at fact {i + 1}:\n  golden:    {want}\n  catalogue: {got}\n" +
                $"The catalogue renders as:\n{string.Join('\n', actual)}");
        }
    }
}
