using System.Globalization;
using PvIommu.Abi.Catalog;

namespace PvIommu.Abi.Tests.Golden;

/// <summary>
/// Renders <see cref="AbiCatalog"/> as the line-per-fact table frozen in <c>abi.golden.txt</c>:
/// one line per hypercall, sub-op, flag bit, errno, constant, struct and field.
/// </summary>
internal static class GoldenTable
{
    public static IEnumerable<string> Render()
    {
        foreach (var h in AbiCatalog.Hypercalls)
        {
            yield return Line("hypercall", h.Name, h.CName, h.Value);
        }

        foreach (var op in AbiCatalog.SubOps)
        {
            yield return Line("subop", op.Name, op.CName, (long)op.Number)
                + $" arg={op.Argument?.Name ?? "none"} arg_size={op.ArgumentSize}";
        }

        foreach (var (family, bits) in Families())
        {
            foreach (var bit in bits)
            {
                yield return string.Create(CultureInfo.InvariantCulture, $"{family} {bit.Name} {bit.CName} bit={bit.Bit}");
            }
        }

        foreach (var e in AbiCatalog.Errnos)
        {
            yield return Line("errno", e.Name, e.CName, e.Value);
        }

        foreach (var c in AbiCatalog.Constants)
        {
            yield return Line("const", c.Name, c.CName, c.Value);
        }

        foreach (var s in AbiCatalog.Structs)
        {
            yield return $"struct {s.Name} size={s.Size} align={s.Align}";
            foreach (var f in s.Fields)
            {
                yield return $"field {s.Name}.{f.Name} offset={f.Offset} size={f.Size} type={f.CType} dir={f.DirectionName}";
            }
        }
    }

    public static IEnumerable<(string Family, IReadOnlyList<AbiBit> Bits)> Families() =>
    [
        ("cap_flag", AbiCatalog.CapFlags),
        ("alloc_flag", AbiCatalog.AllocFlags),
        ("free_flag", AbiCatalog.FreeFlags),
        ("map_flag", AbiCatalog.MapFlags),
    ];

    private static string Line(string kind, string name, string cName, long value) =>
        string.Create(CultureInfo.InvariantCulture, $"{kind} {name} {cName} = {value}");
}
