using PvIommu.Abi.Structs;

namespace PvIommu.Abi;

/// <summary>Facts about each <see cref="SubOp"/>.</summary>
public static class SubOps
{
    /// <summary>Returned by <see cref="ArgumentSize"/> for a sub-op this ABI does not define.</summary>
    public const int UnknownSize = -1;

    /// <summary>
    /// Bytes of the argument struct <paramref name="subOp"/> takes: 0 for noop (no argument) and
    /// for flush_nested (upstream's empty struct), <see cref="UnknownSize"/> for a number this
    /// ABI does not define.
    /// </summary>
    public static int ArgumentSize(SubOp subOp) => subOp switch
    {
        SubOp.Noop => 0,
        SubOp.QueryCapabilities => Capabilities.Size,
        SubOp.Init => Init.Size,
        SubOp.AllocContext => Alloc.Size,
        SubOp.FreeContext => Free.Size,
        SubOp.ReattachDevice => ReattachDevice.Size,
        SubOp.MapPages => MapPages.Size,
        SubOp.UnmapPages => UnmapPages.Size,
        SubOp.RemoteCmd => RemoteCmd.Size,
        SubOp.AllocNested => AllocNested.Size,
        SubOp.FlushNested => 0,
        SubOp.AttachPasid => AttachPasid.Size,
        SubOp.DetachPasid => DetachPasid.Size,
        SubOp.FlushPages => FlushPages.Size,
        SubOp.LookupPage => LookupPage.Size,
        _ => UnknownSize,
    };

    /// <summary>Whether <paramref name="subOp"/> is one of the numbers 0–14 this ABI defines.</summary>
    public static bool IsDefined(SubOp subOp) => subOp <= SubOp.LookupPage;

    /// <summary>
    /// Whether upstream declares <paramref name="subOp"/> without implementing it (9–12, nested and
    /// PASID): those return -EOPNOTSUPP (spec §1).
    /// </summary>
    public static bool IsDeclaredOnly(SubOp subOp) => subOp is >= SubOp.AllocNested and <= SubOp.DetachPasid;
}
