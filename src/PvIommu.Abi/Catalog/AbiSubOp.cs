namespace PvIommu.Abi.Catalog;

/// <summary>One sub-op with the argument it takes.</summary>
/// <param name="Name">The catalogue name, e.g. <c>map_pages</c>.</param>
/// <param name="CName">The macro in <c>pv-iommu.h</c>, e.g. <c>IOMMU_map_pages</c>.</param>
/// <param name="Number">The sub-op number.</param>
/// <param name="ArgumentSize">Bytes of its argument struct (0: none or upstream's empty struct).</param>
/// <param name="Argument">The argument struct, or null when there is none.</param>
public sealed record AbiSubOp(string Name, string CName, SubOp Number, int ArgumentSize, AbiStruct? Argument);
