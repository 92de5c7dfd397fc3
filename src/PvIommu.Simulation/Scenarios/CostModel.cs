namespace PvIommu.Simulation.Scenarios;

/// <summary>
/// What each counted event costs in modelled time. The defaults come from
/// <c>research/perf-anchors.md</c>; <c>docs/cost-model.md</c> cites each one. Every field can be
/// overridden in a scenario's <c>[cost]</c> section.
/// </summary>
public sealed record CostModel
{
    /// <summary>
    /// One hypercall trap (VM exit and return), ns: ~1,300 cycles ≈ 0.5 µs for a null hypercall
    /// on Xeon (Dall et al., ISCA'16, Table II; perf-anchors §3.2).
    /// </summary>
    public double HypercallNs { get; init; } = 500;

    /// <summary>
    /// One page-table entry written by the hypervisor, ns: generic_pt maps a 4 KiB IOPTE in
    /// 65-71 ns (perf-anchors §1.2, goal G6 "~70 ns per PTE warm").
    /// </summary>
    public double PteWriteNs { get; init; } = 70;

    /// <summary>
    /// One page-table word read by the IOMMU's walker on an IOTLB miss, ns: 228 ns per dependent
    /// random load measured here (perf-anchors §3.1; G6 "~0.2 µs per cold walk step").
    /// </summary>
    public double WalkStepNs { get; init; } = 228;

    /// <summary>
    /// One synchronous IOTLB invalidation, ns: ~2.1 µs mean VT-d host flush (F&amp;S
    /// host_aggregate.csv, Emerald Rapids; perf-anchors §3.3).
    /// </summary>
    public double IotlbInvalidationNs { get; init; } = 2_000;

    /// <summary>
    /// Device transfer bandwidth, bytes per second: PCIe Gen3 x16 ≈ 128 Gb/s = 16 GB/s
    /// (F&amp;S; perf-anchors §3.1).
    /// </summary>
    public double DeviceBytesPerSecond { get; init; } = 16e9;

    /// <summary>Modelled time of moving <paramref name="bytes"/> over the link, ns.</summary>
    public double TransferNs(long bytes) => bytes * 1e9 / DeviceBytesPerSecond;
}
