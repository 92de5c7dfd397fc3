using PvIommu.Platform.Memory;
using PvIommu.Platform.PageTables;

namespace PvIommu.Platform.Iommu;

/// <summary>The outcome of translating one bus address.</summary>
/// <param name="Reason"><see cref="FaultReason.None"/> when it translated.</param>
/// <param name="Mfn">The 4 KiB machine frame the address lands in.</param>
/// <param name="Access">The rights the translation grants (the leaf's, ANDed down the walk; read/write for pass-through).</param>
/// <param name="Level">The level of the leaf that mapped it (1 = 4 KiB, 2 = 2 MiB, 3 = 1 GiB; 0 for pass-through).</param>
/// <param name="HostAddress">The host physical byte address.</param>
public readonly record struct TranslationResult(FaultReason Reason, Mfn Mfn, PteAccess Access, int Level, ulong HostAddress)
{
    /// <summary>Whether the address translated.</summary>
    public bool IsOk => Reason == FaultReason.None;

    /// <summary>A refused translation.</summary>
    public static TranslationResult Fault(FaultReason reason) => new(reason, default, PteAccess.None, 0, 0);
}
