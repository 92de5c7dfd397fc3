using PvIommu.Abi;

namespace PvIommu.Hypervisor.Toolstack;

/// <summary>What a toolstack operation gives back: success, or an errno with a sentence for a person.</summary>
/// <param name="Error">The errno, or <see langword="null"/> on success.</param>
/// <param name="Message">Why it failed (empty on success).</param>
public readonly record struct ToolstackResult(XenErrno? Error, string Message)
{
    /// <summary>Success.</summary>
    public static ToolstackResult Ok => default;

    /// <summary>Whether it succeeded.</summary>
    public bool IsOk => Error is null;

    /// <summary>A failure.</summary>
    public static ToolstackResult Fail(XenErrno error, string message) => new(error, message);

    /// <inheritdoc/>
    public override string ToString() => IsOk ? "ok" : $"{Error!.Value.Name()}: {Message}";
}
