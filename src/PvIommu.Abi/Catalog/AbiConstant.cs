namespace PvIommu.Abi.Catalog;

/// <summary>A named number of the ABI (a hypercall, an errno, a limit).</summary>
/// <param name="Name">The catalogue name, e.g. <c>iommu_op</c> or <c>ENOENT</c>.</param>
/// <param name="CName">The macro in <c>pv-iommu.h</c>, e.g. <c>__HYPERVISOR_iommu_op</c>.</param>
/// <param name="Value">The number.</param>
public sealed record AbiConstant(string Name, string CName, long Value);
