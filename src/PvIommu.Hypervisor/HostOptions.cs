namespace PvIommu.Hypervisor;

/// <summary>Knobs of the simulated hypervisor.</summary>
public sealed record HostOptions
{
    /// <summary>Frames processed between two preemption checks (spec §4: 256).</summary>
    public int PreemptBatch { get; init; } = 256;

    /// <summary>
    /// Physical CPUs that run hypercalls: calls beyond this many wait, and a long call yields
    /// at its next slice boundary to a waiting one (spec §4).
    /// </summary>
    public int PhysicalCpus { get; init; } = Math.Max(1, Environment.ProcessorCount);

    /// <summary>Page-table levels of guest contexts (4: 48-bit, 5: 57-bit); defaults to the units'.</summary>
    public int? Levels { get; init; }

    /// <summary>
    /// Whether the hypervisor writes 2 MiB and 1 GiB leaves (Xen's default). False is Xen's
    /// <c>iommu=no-superpages</c>: 4 KiB leaves only, and query_capabilities reports a
    /// <c>pgsize_mask</c> of 4 KiB, so map, unmap and flush accept only 4 KiB pages (spec §3).
    /// </summary>
    public bool Superpages { get; init; } = true;
}
