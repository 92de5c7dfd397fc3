namespace PvIommu.Cli;

/// <summary>The process exit codes the README documents.</summary>
internal static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Ok = 0;

    /// <summary>The job ran and found a failure (a conformance rule failed, a check missed).</summary>
    public const int Failed = 1;

    /// <summary>Bad command line or bad input file.</summary>
    public const int Usage = 2;
}
