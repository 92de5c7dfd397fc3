namespace PvIommu.Architecture.Tests;

/// <summary>
/// The arrows of <c>shared/docs/architecture.md</c>, as data: which layer may reference which.
/// A change here is a change of architecture, so it comes with a note in <c>docs/decisions/</c>.
/// </summary>
/// <remarks>
/// <code>
/// Cli ──► Simulation ──► Hypervisor ──► Platform
///  │          │    └──► Guest ──► Abi       ▲
///  │          │    └──► Devices ────────────┘
///  ├──► Server ──► Hypervisor, Abi, Platform
///  └──► Report ──► Simulation (results only)
/// Abi and Platform reference nothing of ours.
/// </code>
/// </remarks>
internal static class Layers
{
    /// <summary>The layer that composes all the others (decision 0001): it may reference every layer.</summary>
    public const string CompositionRoot = "Cli";

    /// <summary>Each layer, with the layers it may reference directly.</summary>
    public static IReadOnlyDictionary<string, string[]> Allowed { get; } = BuildMap();

    /// <summary>Every layer that is a library (all but the composition root).</summary>
    public static IReadOnlyList<string> Libraries { get; } =
        [.. Allowed.Keys.Where(layer => layer != CompositionRoot)];

    /// <summary>Whether <paramref name="from"/> may reference <paramref name="to"/>.</summary>
    public static bool MayReference(string from, string to) =>
        Allowed.TryGetValue(from, out var allowed) && allowed.Contains(to);

    private static Dictionary<string, string[]> BuildMap()
    {
        var map = new Dictionary<string, string[]>(StringComparer.Ordinal)
        {
            ["Abi"] = [],
            ["Platform"] = [],
            ["Hypervisor"] = ["Platform", "Abi"],
            ["Guest"] = ["Abi"],
            ["Devices"] = ["Platform"],
            ["Simulation"] = ["Hypervisor", "Guest", "Devices", "Platform", "Abi"],

            // Device-DMA and host-info requests of the wire protocol reach the simulated
            // hardware (decision 0001).
            ["Server"] = ["Hypervisor", "Abi", "Platform"],
            ["Report"] = ["Simulation"],
        };
        map[CompositionRoot] = [.. map.Keys];
        return map;
    }
}
