using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using PvIommu.Simulation.Results;

namespace PvIommu.Report;

/// <summary>
/// The results as JSON for scripts. Deterministic: properties in declaration order, numbers in
/// their shortest round-trip form, no time stamps; the same scenario and seed give the same bytes.
/// </summary>
public static class JsonReport
{
    private static readonly JsonSerializerOptions _options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>One run as a JSON document.</summary>
    public static string Render(SimulationResult result) => JsonSerializer.Serialize(result, _options) + "\n";

    /// <summary>A comparison as a JSON document: the varied key, and one result per value.</summary>
    public static string Render(Comparison comparison)
    {
        ArgumentNullException.ThrowIfNull(comparison);
        return JsonSerializer.Serialize(comparison, _options) + "\n";
    }
}
