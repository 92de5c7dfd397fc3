using System.Text;

namespace PvIommu.Abi.Catalog;

/// <summary>
/// The whole ABI as data: every struct layout, sub-op, flag bit, errno, hypercall number and
/// constant, with the names <c>clients/c/include/pv-iommu.h</c> uses. Every number comes from
/// the types of this assembly (the enums and the structs' offset constants), never retyped.
/// The golden test, the C-header test and <c>pviommu abi</c> read it.
/// </summary>
public static partial class AbiCatalog
{
    /// <summary>Every struct, the embedded <c>pv_iommu_pci_device</c> first, then in sub-op order.</summary>
    public static IReadOnlyList<AbiStruct> Structs { get; } = BuildStructs();

    /// <summary>Every sub-op 0–14 with its argument.</summary>
    public static IReadOnlyList<AbiSubOp> SubOps { get; } = BuildSubOps();

    /// <summary>The hypercall numbers: <c>iommu_op</c> and <c>multicall</c>.</summary>
    public static IReadOnlyList<AbiConstant> Hypercalls { get; } =
    [
        new("iommu_op", "__HYPERVISOR_iommu_op", Hypercall.IommuOp),
        new("multicall", "__HYPERVISOR_multicall", Hypercall.Multicall),
    ];

    /// <summary>Bits of <c>cap_flags</c>.</summary>
    public static IReadOnlyList<AbiBit> CapFlags { get; } = Bits<CapFlags>("IOMMUCAP_");

    /// <summary>Bits of <c>alloc_flags</c>.</summary>
    public static IReadOnlyList<AbiBit> AllocFlags { get; } = Bits<AllocFlags>("IOMMU_ALLOC_");

    /// <summary>Bits of <c>free_flags</c>.</summary>
    public static IReadOnlyList<AbiBit> FreeFlags { get; } = Bits<FreeFlags>("IOMMU_FREE_");

    /// <summary>Bits of <c>map_flags</c>.</summary>
    public static IReadOnlyList<AbiBit> MapFlags { get; } = Bits<MapFlags>("IOMMU_MAP_");

    /// <summary>Every <see cref="XenErrno"/>, by value; the C names carry a <c>PV_IOMMU_</c> prefix.</summary>
    public static IReadOnlyList<AbiConstant> Errnos { get; } =
        [.. Enum.GetValues<XenErrno>().Select(e => new AbiConstant(e.Name(), "PV_IOMMU_" + e.Name(), (long)e))];

    /// <summary>Context numbers, init limits and page sizes.</summary>
    public static IReadOnlyList<AbiConstant> Constants { get; } =
    [
        new("default_context", "IOMMU_DEFAULT_CONTEXT", ContextNumbers.DefaultContext),
        new("no_context", "IOMMU_NO_CONTEXT", ContextNumbers.NoContext),
        new("max_contexts", "PV_IOMMU_MAX_CONTEXTS", ContextNumbers.MaxContexts),
        new("max_arena_order", "PV_IOMMU_MAX_ARENA_ORDER", ContextNumbers.MaxArenaOrder),
        new("pgsize_4k", "PV_IOMMU_PGSIZE_4K", PageSizes.Size4K),
        new("pgsize_2m", "PV_IOMMU_PGSIZE_2M", PageSizes.Size2M),
        new("pgsize_1g", "PV_IOMMU_PGSIZE_1G", PageSizes.Size1G),
        new("pgsize_mask", "PV_IOMMU_PGSIZE_MASK", PageSizes.SupportedMask),
    ];

    /// <summary>The struct whose C tag is <paramref name="name"/>, e.g. <c>pv_iommu_map_pages</c>.</summary>
    /// <exception cref="KeyNotFoundException">No such struct.</exception>
    public static AbiStruct Struct(string name) =>
        Structs.FirstOrDefault(s => s.Name == name) ?? throw new KeyNotFoundException($"No struct {name}.");

    /// <summary>
    /// The catalogue name for a C# member name: <c>QueryCapabilities</c> becomes
    /// <c>query_capabilities</c>, as upstream spells its sub-ops and flags.
    /// </summary>
    public static string SnakeCase(string pascalName)
    {
        var builder = new StringBuilder(pascalName.Length + 4);
        for (var i = 0; i < pascalName.Length; i++)
        {
            var c = pascalName[i];
            if (char.IsUpper(c) && i > 0)
            {
                builder.Append('_');
            }

            builder.Append(char.ToLowerInvariant(c));
        }

        return builder.ToString();
    }

    private static AbiSubOp[] BuildSubOps() =>
    [
        .. Enum.GetValues<SubOp>().Select(op =>
        {
            var name = SnakeCase(op.ToString());
            var typeName = ArgumentTypeName(op);
            var argument = typeName is null ? null : Structs.Single(s => s.TypeName == typeName);
            return new AbiSubOp(name, "IOMMU_" + name, op, PvIommu.Abi.SubOps.ArgumentSize(op), argument);
        }),
    ];

    // One entry per single-bit member; None (0) is not a bit.
    private static AbiBit[] Bits<TFlags>(string cPrefix)
        where TFlags : struct, Enum =>
    [
        .. Enum.GetValues<TFlags>()
            .Select(flag => (Name: flag.ToString(), Value: Convert.ToUInt64(flag)))
            .Where(flag => ulong.IsPow2(flag.Value))
            .Select(flag => new AbiBit(SnakeCase(flag.Name), cPrefix + SnakeCase(flag.Name), (int)ulong.Log2(flag.Value))),
    ];
}
