using System.Globalization;
using System.Text;
using PvIommu.Abi.Catalog;

namespace PvIommu.Abi.Tests.CHeader;

/// <summary>
/// Generates, from <see cref="AbiCatalog"/>, a C program that includes <c>pv-iommu.h</c> and prints
/// what the C compiler made of it (every sizeof, alignment, offsetof, field type and macro value),
/// together with the lines the catalogue expects. A field added to the catalogue is checked
/// without touching this file.
/// </summary>
internal static class CProgram
{
    private static readonly CultureInfo _invariant = CultureInfo.InvariantCulture;

    public static string Source()
    {
        var c = new StringBuilder();
        c.AppendLine("#include <stdio.h>");
        c.AppendLine("#include \"pv-iommu.h\"");
        c.AppendLine();
        c.AppendLine("/* Not evaluated: _Generic and sizeof only look at the member's type. */");
        c.AppendLine("#define MEMBER(s, f) (((struct s *)0)->f)");
        c.AppendLine("#define TYPE_NAME(x) _Generic((x), uint8_t: \"uint8_t\", uint16_t: \"uint16_t\", \\");
        c.AppendLine("    uint32_t: \"uint32_t\", uint64_t: \"uint64_t\", uint8_t *: \"uint8_t[]\", \\");
        c.AppendLine("    struct pv_iommu_pci_device: \"struct pv_iommu_pci_device\", default: \"other\")");
        c.AppendLine("#define IS_UNSIGNED(x) _Generic((x), unsigned int: 1, default: 0)");
        c.AppendLine();
        c.AppendLine("int main(void)");
        c.AppendLine("{");
        foreach (var s in AbiCatalog.Structs)
        {
            c.AppendLine(_invariant, $"    printf(\"struct {s.Name} size=%zu align=%zu\\n\", sizeof(struct {s.Name}), _Alignof(struct {s.Name}));");
            foreach (var f in s.Fields)
            {
                c.AppendLine(_invariant, $"    printf(\"field {s.Name}.{f.Name} offset=%zu size=%zu type=%s\\n\", offsetof(struct {s.Name}, {f.Name}),");
                c.AppendLine(_invariant, $"        sizeof(MEMBER({s.Name}, {f.Name})), TYPE_NAME(MEMBER({s.Name}, {f.Name})));");
            }
        }

        foreach (var name in Constants().Select(k => k.CName))
        {
            c.AppendLine(_invariant, $"    printf(\"const {name} = %lld\\n\", (long long)({name}));");
        }

        foreach (var bit in Bits())
        {
            c.AppendLine(_invariant, $"    printf(\"bit {bit.CName} = %llu unsigned=%d\\n\", (unsigned long long)({bit.CName}), IS_UNSIGNED({bit.CName}));");
        }

        c.AppendLine("    return 0;");
        c.AppendLine("}");
        return c.ToString();
    }

    public static IEnumerable<string> ExpectedOutput()
    {
        foreach (var s in AbiCatalog.Structs)
        {
            yield return string.Create(_invariant, $"struct {s.Name} size={s.Size} align={s.Align}");
            foreach (var f in s.Fields)
            {
                var type = f.Type == AbiType.Bytes ? "uint8_t[]" : f.CType;
                yield return string.Create(_invariant, $"field {s.Name}.{f.Name} offset={f.Offset} size={f.Size} type={type}");
            }
        }

        foreach (var (name, value) in Constants())
        {
            yield return string.Create(_invariant, $"const {name} = {value}");
        }

        foreach (var bit in Bits())
        {
            yield return string.Create(_invariant, $"bit {bit.CName} = {bit.Mask} unsigned=1");
        }
    }

    private static IEnumerable<(string CName, long Value)> Constants() =>
        AbiCatalog.Hypercalls.Concat(AbiCatalog.Errnos).Concat(AbiCatalog.Constants).Select(k => (k.CName, k.Value))
            .Concat(AbiCatalog.SubOps.Select(op => (op.CName, (long)op.Number)));

    private static IEnumerable<AbiBit> Bits() =>
        AbiCatalog.CapFlags.Concat(AbiCatalog.AllocFlags).Concat(AbiCatalog.FreeFlags).Concat(AbiCatalog.MapFlags);
}
