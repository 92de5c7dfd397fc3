using System.CommandLine;
using System.Text;
using System.Text.Json;
using PvIommu.Abi.Catalog;

namespace PvIommu.Cli.Commands;

/// <summary>
/// <c>pviommu abi [--json]</c>: prints the PV-IOMMU ABI this project implements, read from
/// <see cref="AbiCatalog"/> (the same data the golden test and the C-header test check), as a
/// readable table or as one JSON document for tools.
/// </summary>
internal static class AbiCommand
{
    /// <summary>Builds the <c>abi</c> command.</summary>
    public static Command Create()
    {
        var json = new Option<bool>("--json")
        {
            Description = "Print one JSON document (structs, subops, flags, errno, hypercall numbers) instead of a table.",
        };
        var command = new Command("abi", "Print the PV-IOMMU ABI: sub-ops, flags, errno values and struct layouts.");
        command.Options.Add(json);
        command.SetAction(parseResult =>
        {
            Console.Out.Write(parseResult.GetValue(json) ? Json() : Table());
            return 0;
        });
        return command;
    }

    /// <summary>The catalogue as an indented JSON document, ending with a newline.</summary>
    public static string Json()
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            WriteNumbers(writer, "hypercall", AbiCatalog.Hypercalls);
            writer.WriteStartObject("subops");
            foreach (var op in AbiCatalog.SubOps)
            {
                writer.WriteNumber(op.Name, (uint)op.Number);
            }

            writer.WriteEndObject();
            writer.WriteStartObject("subop_arguments");
            foreach (var op in AbiCatalog.SubOps)
            {
                writer.WriteStartObject(op.Name);
                writer.WriteString("struct", op.Argument?.Name);
                writer.WriteNumber("size", op.ArgumentSize);
                writer.WriteEndObject();
            }

            writer.WriteEndObject();
            WriteBits(writer, "cap_flags", AbiCatalog.CapFlags);
            WriteBits(writer, "alloc_flags", AbiCatalog.AllocFlags);
            WriteBits(writer, "free_flags", AbiCatalog.FreeFlags);
            WriteBits(writer, "map_flags", AbiCatalog.MapFlags);
            WriteNumbers(writer, "errno", AbiCatalog.Errnos);
            WriteNumbers(writer, "constants", AbiCatalog.Constants);
            writer.WriteStartArray("structs");
            foreach (var s in AbiCatalog.Structs)
            {
                WriteStruct(writer, s);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray()) + Environment.NewLine;
    }

    /// <summary>The catalogue as aligned plain-text tables.</summary>
    public static string Table()
    {
        var text = new StringBuilder();
        var hypercalls = string.Join(", ", AbiCatalog.Hypercalls.Select(h => $"{h.Name} = {h.Value}"));
        Line(text, $"PV-IOMMU ABI (x86-64, little-endian). Hypercalls: {hypercalls}.");
        Line(text, "A call returns 0 or -errno; structs are copied in, run, and copied back.");

        Section(text, "Sub-ops");
        foreach (var op in AbiCatalog.SubOps)
        {
            Line(text, $"  {(uint)op.Number,2}  {op.Name,-20} {op.Argument?.Name ?? "(no argument)",-26} {op.ArgumentSize,3} bytes");
        }

        foreach (var (title, bits) in new[]
        {
            ("cap_flags", AbiCatalog.CapFlags),
            ("alloc_flags", AbiCatalog.AllocFlags),
            ("free_flags", AbiCatalog.FreeFlags),
            ("map_flags", AbiCatalog.MapFlags),
        })
        {
            Section(text, title);
            foreach (var bit in bits)
            {
                Line(text, $"  bit {bit.Bit}  {bit.Name,-18} {bit.CName}");
            }
        }

        Section(text, "Errno values");
        foreach (var e in AbiCatalog.Errnos)
        {
            Line(text, $"  {e.Value,3}  {e.Name,-14} {e.CName}");
        }

        Section(text, "Constants");
        foreach (var c in AbiCatalog.Constants)
        {
            Line(text, $"  {c.Name,-16} {c.Value,10}  {c.CName}");
        }

        foreach (var s in AbiCatalog.Structs)
        {
            Section(text, $"struct {s.Name}: {s.Size} bytes, align {s.Align}");
            foreach (var f in s.Fields)
            {
                Line(text, $"  @{f.Offset,-3} {f.Size,2}  {f.Name,-14} {f.CType,-28} {f.DirectionName}");
            }
        }

        return text.ToString();
    }

    private static void WriteStruct(Utf8JsonWriter writer, AbiStruct s)
    {
        writer.WriteStartObject();
        writer.WriteString("name", s.Name);
        writer.WriteNumber("size", s.Size);
        writer.WriteNumber("align", s.Align);
        writer.WriteStartArray("fields");
        foreach (var f in s.Fields)
        {
            writer.WriteStartObject();
            writer.WriteString("name", f.Name);
            writer.WriteNumber("offset", f.Offset);
            writer.WriteNumber("size", f.Size);
            writer.WriteString("type", f.CType);
            writer.WriteString("direction", f.DirectionName);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private static void WriteNumbers(Utf8JsonWriter writer, string name, IEnumerable<AbiConstant> constants)
    {
        writer.WriteStartObject(name);
        foreach (var c in constants)
        {
            writer.WriteNumber(c.Name, c.Value);
        }

        writer.WriteEndObject();
    }

    private static void WriteBits(Utf8JsonWriter writer, string name, IEnumerable<AbiBit> bits)
    {
        writer.WriteStartObject(name);
        foreach (var bit in bits)
        {
            writer.WriteNumber(bit.Name, bit.Bit);
        }

        writer.WriteEndObject();
    }

    private static void Section(StringBuilder text, string title)
    {
        text.AppendLine();
        Line(text, title);
    }

    private static void Line(StringBuilder text, string line) => text.AppendLine(line);
}
