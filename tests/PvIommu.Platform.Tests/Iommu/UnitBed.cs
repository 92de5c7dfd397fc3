using PvIommu.Platform.Iommu;
using PvIommu.Platform.Memory;
using PvIommu.Platform.PageTables;
using PvIommu.Platform.Pci;

namespace PvIommu.Platform.Tests.Iommu;

/// <summary>
/// One unit over 4 GiB of machine memory, with 4-level tables written by hand from frame 0x100,
/// and one device (<see cref="Nic"/>) translated through them under domain-id <see cref="Did"/>.
/// </summary>
internal sealed class UnitBed<TFormat>
    where TFormat : struct, IPteFormat
{
    public const ushort Did = 7;

    public static readonly Sbdf Nic = new(0, 3, 0, 0);

    public UnitBed()
    {
        Memory = new MachineMemory(1UL << 20);
        Unit = new IommuUnit(new IommuUnitDescription("u0", TFormat.Kind, 5, 0, DeviceScope.IncludeAll), Memory);
        Tables = new HandTables<TFormat>(Memory, 0x100, 4);
        Unit.SetContext(Nic, DeviceContext.Translated(Did, Tables.Root, 4));
    }

    public MachineMemory Memory { get; }

    public IommuUnit Unit { get; }

    public HandTables<TFormat> Tables { get; }
}
