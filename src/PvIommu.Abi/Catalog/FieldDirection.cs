namespace PvIommu.Abi.Catalog;

/// <summary>Which way a field carries data across the hypercall (spec §1: copied in, then back).</summary>
public enum FieldDirection
{
    /// <summary>Read by the hypervisor; written back unchanged.</summary>
    In,

    /// <summary>Written by the hypervisor.</summary>
    Out,

    /// <summary>Read, then updated (progress counters and cursors, spec §4).</summary>
    InOut,

    /// <summary>Padding: ignored on input, written as zero.</summary>
    Padding,
}
