namespace PvIommu.Abi.Catalog;

/// <summary>
/// Builds an <see cref="AbiStruct"/> from a struct's offset constants and checks that the fields
/// tile it exactly: each one starts where the previous one ends, sits at its natural alignment,
/// and the last one ends at the size. A gap or overlap is a bug in this assembly.
/// </summary>
internal sealed class StructBuilder(string name, string typeName, int size)
{
    private readonly List<AbiField> _fields = [];

    /// <summary>Adds a scalar field; its size follows from <paramref name="type"/>.</summary>
    public StructBuilder Field(string fieldName, int offset, AbiType type, FieldDirection direction)
    {
        var fieldSize = type switch
        {
            AbiType.U8 => sizeof(byte),
            AbiType.U16 => sizeof(ushort),
            AbiType.U32 => sizeof(uint),
            AbiType.U64 or AbiType.GuestHandle => sizeof(ulong),
            _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Not a scalar type."),
        };
        _fields.Add(new AbiField(fieldName, offset, fieldSize, type, direction));
        return this;
    }

    /// <summary>Adds padding; 2 and 4 bytes are declared as one integer in C, other widths as bytes.</summary>
    public StructBuilder Pad(string fieldName, int offset, int padSize)
    {
        var type = padSize switch
        {
            sizeof(ushort) => AbiType.U16,
            sizeof(uint) => AbiType.U32,
            _ => AbiType.Bytes,
        };
        _fields.Add(new AbiField(fieldName, offset, padSize, type, FieldDirection.Padding));
        return this;
    }

    /// <summary>Adds an embedded struct.</summary>
    public StructBuilder Nested(string fieldName, int offset, AbiStruct nested, FieldDirection direction)
    {
        _fields.Add(new AbiField(fieldName, offset, nested.Size, AbiType.Struct, direction, nested));
        return this;
    }

    /// <summary>Checks the tiling and returns the struct.</summary>
    /// <exception cref="InvalidOperationException">The fields do not tile the struct.</exception>
    public AbiStruct Build()
    {
        var end = 0;
        foreach (var field in _fields)
        {
            if (field.Offset != end || field.Offset % field.Align != 0)
            {
                throw new InvalidOperationException(
                    $"{name}.{field.Name} is at {field.Offset}; the previous field ends at {end} and it aligns to {field.Align}.");
            }

            end = field.Offset + field.Size;
        }

        var built = new AbiStruct(name, typeName, size, _fields.ToArray());
        if (end != size || size % built.Align != 0)
        {
            throw new InvalidOperationException($"{name} fields end at {end}, its size is {size}, its alignment {built.Align}.");
        }

        return built;
    }
}
