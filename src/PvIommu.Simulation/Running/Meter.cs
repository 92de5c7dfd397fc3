using PvIommu.Guest;
using PvIommu.Hypervisor;
using PvIommu.Platform.Iommu;

namespace PvIommu.Simulation.Running;

/// <summary>What the control path did between two snapshots: the hypercall side of an operation.</summary>
internal readonly record struct CallCost(long Traps, long Ops, long Invalidations, long PteWrites)
{
    public static CallCost operator -(CallCost a, CallCost b) =>
        new(a.Traps - b.Traps, a.Ops - b.Ops, a.Invalidations - b.Invalidations, a.PteWrites - b.PteWrites);

    public static CallCost operator +(CallCost a, CallCost b) =>
        new(a.Traps + b.Traps, a.Ops + b.Ops, a.Invalidations + b.Invalidations, a.PteWrites + b.PteWrites);
}

/// <summary>What the IOMMU did for a device between two snapshots: the translation side.</summary>
internal readonly record struct WalkCost(long Translations, long Walks, long WalkSteps, long IotlbHits, long IotlbMisses)
{
    public static WalkCost operator -(WalkCost a, WalkCost b) =>
        new(a.Translations - b.Translations, a.Walks - b.Walks, a.WalkSteps - b.WalkSteps, a.IotlbHits - b.IotlbHits, a.IotlbMisses - b.IotlbMisses);

    public static WalkCost operator +(WalkCost a, WalkCost b) =>
        new(a.Translations + b.Translations, a.Walks + b.Walks, a.WalkSteps + b.WalkSteps, a.IotlbHits + b.IotlbHits, a.IotlbMisses + b.IotlbMisses);
}

/// <summary>
/// Takes the snapshots cost attribution works from. The run is single-threaded, so the counters
/// that move between two snapshots around a workload's step moved because of that step.
/// </summary>
internal sealed class Meter(Host host)
{
    public CallCost Calls(XenIommuDriver driver)
    {
        // Field by field, no snapshot objects: this runs around every map and unmap.
        return new CallCost(driver.Traps, driver.IommuOps, host.IotlbInvalidations, host.PteWrites);
    }

    public static WalkCost Walks(IommuUnit unit) =>
        // Field by field: this runs around every DMA a workload makes.
        new(unit.TranslationCount, unit.WalkCount, unit.WalkStepCount, unit.Iotlb.HitCount, unit.Iotlb.MissCount);
}
