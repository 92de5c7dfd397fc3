namespace PvIommu.Abi.Catalog;

/// <summary>One ABI struct: its C name, size, alignment and fields in offset order.</summary>
/// <param name="Name">The C struct tag, e.g. <c>pv_iommu_map_pages</c>.</param>
/// <param name="TypeName">The C# type in <c>PvIommu.Abi.Structs</c>, e.g. <c>MapPages</c>.</param>
/// <param name="Size">The struct's <c>sizeof</c>.</param>
/// <param name="Fields">Every field, padding included, in offset order; together they cover the struct.</param>
public sealed record AbiStruct(string Name, string TypeName, int Size, IReadOnlyList<AbiField> Fields)
{
    /// <summary>The struct's alignment in C: the largest alignment of its fields.</summary>
    public int Align => Fields.Max(f => f.Align);

    /// <summary>The field called <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such field.</exception>
    public AbiField Field(string name) =>
        Fields.FirstOrDefault(f => f.Name == name) ?? throw new KeyNotFoundException($"{Name} has no field {name}.");
}
