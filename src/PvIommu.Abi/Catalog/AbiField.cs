namespace PvIommu.Abi.Catalog;

/// <summary>One field of an ABI struct.</summary>
/// <param name="Name">The C field name, e.g. <c>nr_pages</c>.</param>
/// <param name="Offset">Byte offset from the start of the struct.</param>
/// <param name="Size">Bytes the field occupies.</param>
/// <param name="Type">The C type.</param>
/// <param name="Direction">Which way the field carries data.</param>
/// <param name="Nested">The embedded struct when <paramref name="Type"/> is <see cref="AbiType.Struct"/>.</param>
public sealed record AbiField(
    string Name, int Offset, int Size, AbiType Type, FieldDirection Direction, AbiStruct? Nested = null)
{
    /// <summary>Whether the field is padding (ignored on input, written as zero).</summary>
    public bool IsPadding => Direction == FieldDirection.Padding;

    /// <summary>The field's alignment in C.</summary>
    public int Align => Type switch
    {
        AbiType.Bytes => 1,
        AbiType.Struct => Nested!.Align,
        _ => Size,
    };

    /// <summary>The C type as declared in <c>pv-iommu.h</c>, e.g. <c>uint8_t[6]</c>.</summary>
    public string CType => Type switch
    {
        AbiType.U8 => "uint8_t",
        AbiType.U16 => "uint16_t",
        AbiType.U32 => "uint32_t",
        AbiType.U64 or AbiType.GuestHandle => "uint64_t",
        AbiType.Bytes => $"uint8_t[{Size}]",
        _ => "struct " + Nested!.Name,
    };

    /// <summary>The direction as the upstream header comments spell it: IN, OUT, INOUT or PAD.</summary>
    public string DirectionName => Direction switch
    {
        FieldDirection.In => "IN",
        FieldDirection.Out => "OUT",
        FieldDirection.InOut => "INOUT",
        _ => "PAD",
    };
}
