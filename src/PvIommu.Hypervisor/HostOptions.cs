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
}
