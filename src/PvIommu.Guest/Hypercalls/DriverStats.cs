namespace PvIommu.Guest.Hypercalls;

/// <summary>The mutable tallies behind <see cref="DriverCounters"/>; single-threaded like the driver.</summary>
internal sealed class DriverStats
{
    public long Traps;
    public long IommuOps;
    public long Multicalls;
    public long MapCalls;
    public long UnmapCalls;
    public long FlushCalls;
    public long LookupCalls;
    public long FailedOps;
    public long InvalidationsRequested;
    public long FramesMapped;
    public long FramesUnmapped;
    public long FramesUndone;
    public long UndoFailures;
    public long ShadowLookups;

    public DriverCounters Snapshot() => new()
    {
        Traps = Traps,
        IommuOps = IommuOps,
        Multicalls = Multicalls,
        MapCalls = MapCalls,
        UnmapCalls = UnmapCalls,
        FlushCalls = FlushCalls,
        LookupCalls = LookupCalls,
        FailedOps = FailedOps,
        InvalidationsRequested = InvalidationsRequested,
        FramesMapped = FramesMapped,
        FramesUnmapped = FramesUnmapped,
        FramesUndone = FramesUndone,
        UndoFailures = UndoFailures,
        ShadowLookups = ShadowLookups,
    };
}
