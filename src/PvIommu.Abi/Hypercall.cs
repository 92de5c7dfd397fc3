namespace PvIommu.Abi;

/// <summary>Xen hypercall numbers this ABI uses (spec §1 and §4.1).</summary>
public static class Hypercall
{
    /// <summary><c>__HYPERVISOR_iommu_op</c>: the PV-IOMMU hypercall, arguments (sub-op, handle).</summary>
    public const int IommuOp = 43;

    /// <summary><c>__HYPERVISOR_multicall</c>: a batch of hypercalls in one trap.</summary>
    public const int Multicall = 13;
}
