namespace PvIommu.Abi.Catalog;

/// <summary>The C type of a struct field, as the catalogue and the C header spell it.</summary>
public enum AbiType
{
    /// <summary><c>uint8_t</c>.</summary>
    U8,

    /// <summary><c>uint16_t</c>.</summary>
    U16,

    /// <summary><c>uint32_t</c>.</summary>
    U32,

    /// <summary><c>uint64_t</c>, 8-byte aligned on every target.</summary>
    U64,

    /// <summary>A guest handle: on x86-64 a 64-bit address, 8-byte aligned.</summary>
    GuestHandle,

    /// <summary><c>uint8_t[n]</c>: padding of an odd width.</summary>
    Bytes,

    /// <summary>An embedded struct (<see cref="AbiField.Nested"/> describes it).</summary>
    Struct,
}
