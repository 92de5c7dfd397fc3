using PvIommu.Abi;
using PvIommu.Server.Wire;

namespace PvIommu.Server.Client;

/// <summary>One response frame as the client read it.</summary>
/// <param name="seq">The seq it answers.</param>
/// <param name="ret">0 or -errno; null when the server closed the connection instead of answering.</param>
/// <param name="payload">The payload (valid until the client's next call).</param>
public readonly ref struct WireResponse(uint seq, int? ret, ReadOnlySpan<byte> payload)
{
    /// <summary>The seq it answers.</summary>
    public uint Seq { get; } = seq;

    /// <summary>0 or -errno; null when the server closed the connection instead of answering.</summary>
    public int? Ret { get; } = ret;

    /// <summary>The payload (valid until the client's next call).</summary>
    public ReadOnlySpan<byte> Payload { get; } = payload;
}

/// <summary>The outcome of a device DMA: 0, -EIO with the fault, or another -errno.</summary>
/// <param name="Ret">0 or -errno.</param>
/// <param name="Fault">The fault, when <paramref name="Ret"/> is -EIO.</param>
public readonly record struct DmaOutcome(int Ret, DmaFault? Fault)
{
    /// <inheritdoc/>
    public override string ToString() =>
        Fault is { } f ? $"{XenErrnos.Describe(Ret)} (fault reason {f.Reason} at 0x{f.Address:x})" : XenErrnos.Describe(Ret);
}

/// <summary>The server refused the opening.</summary>
public sealed class WireHelloException : IOException
{
    /// <summary>A refusal with <paramref name="status"/> (-ENOENT, -EINVAL, -EBUSY).</summary>
    public WireHelloException(int status)
        : base($"the server refused the session: {XenErrnos.Describe(status)}") => Status = status;

    /// <summary>A refusal without a status (prefer the other constructor).</summary>
    public WireHelloException()
    {
    }

    /// <summary>A refusal described by <paramref name="message"/>.</summary>
    public WireHelloException(string message)
        : base(message)
    {
    }

    /// <summary>A refusal described by <paramref name="message"/>, caused by <paramref name="inner"/>.</summary>
    public WireHelloException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>The opening status: -ENOENT no such domain, -EINVAL bad opening, -EBUSY too many sessions.</summary>
    public int Status { get; }
}
