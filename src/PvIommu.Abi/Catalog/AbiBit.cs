namespace PvIommu.Abi.Catalog;

/// <summary>One bit of a flag word.</summary>
/// <param name="Name">The catalogue name, e.g. <c>no_flush</c>.</param>
/// <param name="CName">The macro in <c>pv-iommu.h</c>, e.g. <c>IOMMU_MAP_no_flush</c>.</param>
/// <param name="Bit">The bit number; the macro's value is <c>1U &lt;&lt; Bit</c>.</param>
public sealed record AbiBit(string Name, string CName, int Bit)
{
    /// <summary>The flag's value, <c>1 &lt;&lt; Bit</c>.</summary>
    public uint Mask => 1u << Bit;
}
