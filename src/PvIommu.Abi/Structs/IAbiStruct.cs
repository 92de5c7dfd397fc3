namespace PvIommu.Abi.Structs;

/// <summary>
/// An argument struct of <c>iommu_op</c> with a byte-exact little-endian encoding (spec §2), so
/// generic code (the dispatcher, the socket server) can decode, run and write back any sub-op's
/// argument the same way.
/// </summary>
/// <typeparam name="TSelf">The struct itself.</typeparam>
public interface IAbiStruct<TSelf>
    where TSelf : struct, IAbiStruct<TSelf>
{
    /// <summary>Decodes the struct from the start of <paramref name="source"/>; padding is ignored.</summary>
    /// <exception cref="ArgumentException"><paramref name="source"/> is shorter than the struct.</exception>
    static abstract TSelf Read(ReadOnlySpan<byte> source);

    /// <summary>Encodes the struct at the start of <paramref name="destination"/>, padding as zero.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than the struct.</exception>
    void Write(Span<byte> destination);
}
