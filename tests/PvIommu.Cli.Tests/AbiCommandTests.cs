using System.Text.Json;
using PvIommu.Cli.Tests.Support;

namespace PvIommu.Cli.Tests;

/// <summary><c>pviommu abi</c> prints the catalogue; drivers' tools read the JSON form.</summary>
[Collection(ConsoleOutCollection.Name)]
public class AbiCommandTests
{
    [Fact]
    public void AbiJson_MapPages_IsFortyBytesWithMappedAtThirtySix()
    {
        var (exit, text) = Run("abi", "--json");

        Assert.Equal(0, exit);
        using var json = JsonDocument.Parse(text);
        var map = json.RootElement.GetProperty("structs").EnumerateArray()
            .Single(s => s.GetProperty("name").GetString() == "pv_iommu_map_pages");
        Assert.Equal(40, map.GetProperty("size").GetInt32());
        Assert.Equal(8, map.GetProperty("align").GetInt32());
        var mapped = map.GetProperty("fields").EnumerateArray().Single(f => f.GetProperty("name").GetString() == "mapped");
        Assert.Equal(36, mapped.GetProperty("offset").GetInt32());
        Assert.Equal(4, mapped.GetProperty("size").GetInt32());
    }

    [Fact]
    public void AbiJson_Numbers_AreTheSpecs()
    {
        var (_, text) = Run("abi", "--json");

        using var json = JsonDocument.Parse(text);
        var root = json.RootElement;
        Assert.Equal(43, root.GetProperty("hypercall").GetProperty("iommu_op").GetInt32());
        Assert.Equal(6, root.GetProperty("subops").GetProperty("map_pages").GetInt32());
        Assert.Equal(14, root.GetProperty("subops").GetProperty("lookup_page").GetInt32());
        Assert.Equal(3, root.GetProperty("map_flags").GetProperty("no_flush").GetInt32());
        Assert.Equal(6, root.GetProperty("cap_flags").GetProperty("lookup").GetInt32());
        Assert.Equal(0, root.GetProperty("alloc_flags").GetProperty("identity").GetInt32());
        Assert.Equal(0, root.GetProperty("free_flags").GetProperty("reattach_default").GetInt32());
        Assert.Equal(2, root.GetProperty("errno").GetProperty("ENOENT").GetInt32());
    }

    [Fact]
    public void Abi_WithoutJson_PrintsReadableTable()
    {
        var (exit, text) = Run("abi");

        Assert.Equal(0, exit);
        Assert.Contains("struct pv_iommu_map_pages: 40 bytes, align 8", text, StringComparison.Ordinal);
        Assert.Contains("map_pages", text, StringComparison.Ordinal);
        Assert.Contains("EOPNOTSUPP", text, StringComparison.Ordinal);
    }

    private static (int Exit, string Text) Run(params string[] args)
    {
        var (exit, text, _) = CliConsole.Run(args);
        return (exit, text);
    }
}
