namespace PvIommu.Platform.Memory;

/// <summary>Size facts shared by every frame number: frames are 4 KiB.</summary>
public static class Frame
{
    /// <summary>log2 of the frame size.</summary>
    public const int Shift = 12;

    /// <summary>Bytes in one frame.</summary>
    public const int Size = 1 << Shift;

    /// <summary>64-bit words in one frame (one page table holds this many entries).</summary>
    public const int Words = Size / sizeof(ulong);
}

/// <summary>Machine frame number: a 4 KiB frame of host memory, as the IOMMU and the CPU see it.</summary>
/// <param name="Value">The frame number (address &gt;&gt; 12).</param>
public readonly record struct Mfn(ulong Value) : IComparable<Mfn>
{
    /// <summary>The byte address of the frame's first byte.</summary>
    public ulong Address => Value << Frame.Shift;

    /// <summary>The frame <paramref name="n"/> frames further on.</summary>
    public static Mfn operator +(Mfn mfn, ulong n) => new(mfn.Value + n);

    /// <inheritdoc/>
    public int CompareTo(Mfn other) => Value.CompareTo(other.Value);

    /// <summary>Orders by frame number.</summary>
    public static bool operator <(Mfn left, Mfn right) => left.Value < right.Value;

    /// <summary>Orders by frame number.</summary>
    public static bool operator <=(Mfn left, Mfn right) => left.Value <= right.Value;

    /// <summary>Orders by frame number.</summary>
    public static bool operator >(Mfn left, Mfn right) => left.Value > right.Value;

    /// <summary>Orders by frame number.</summary>
    public static bool operator >=(Mfn left, Mfn right) => left.Value >= right.Value;

    /// <inheritdoc/>
    public override string ToString() => $"mfn:{Value:x}";
}

/// <summary>Guest frame number: a frame of a domain's pseudo-physical address space.</summary>
/// <param name="Value">The frame number.</param>
public readonly record struct Gfn(ulong Value) : IComparable<Gfn>
{
    /// <summary>The guest-physical byte address of the frame.</summary>
    public ulong Address => Value << Frame.Shift;

    /// <summary>The frame <paramref name="n"/> frames further on.</summary>
    public static Gfn operator +(Gfn gfn, ulong n) => new(gfn.Value + n);

    /// <inheritdoc/>
    public int CompareTo(Gfn other) => Value.CompareTo(other.Value);

    /// <summary>Orders by frame number.</summary>
    public static bool operator <(Gfn left, Gfn right) => left.Value < right.Value;

    /// <summary>Orders by frame number.</summary>
    public static bool operator <=(Gfn left, Gfn right) => left.Value <= right.Value;

    /// <summary>Orders by frame number.</summary>
    public static bool operator >(Gfn left, Gfn right) => left.Value > right.Value;

    /// <summary>Orders by frame number.</summary>
    public static bool operator >=(Gfn left, Gfn right) => left.Value >= right.Value;

    /// <inheritdoc/>
    public override string ToString() => $"gfn:{Value:x}";
}

/// <summary>Device frame number: what a device puts on the bus (the IOVA &gt;&gt; 12).</summary>
/// <param name="Value">The frame number.</param>
public readonly record struct Dfn(ulong Value) : IComparable<Dfn>
{
    /// <summary>The bus address of the frame.</summary>
    public ulong Address => Value << Frame.Shift;

    /// <summary>The frame holding bus address <paramref name="address"/>.</summary>
    public static Dfn FromAddress(ulong address) => new(address >> Frame.Shift);

    /// <summary>The frame <paramref name="n"/> frames further on.</summary>
    public static Dfn operator +(Dfn dfn, ulong n) => new(dfn.Value + n);

    /// <inheritdoc/>
    public int CompareTo(Dfn other) => Value.CompareTo(other.Value);

    /// <summary>Orders by frame number.</summary>
    public static bool operator <(Dfn left, Dfn right) => left.Value < right.Value;

    /// <summary>Orders by frame number.</summary>
    public static bool operator <=(Dfn left, Dfn right) => left.Value <= right.Value;

    /// <summary>Orders by frame number.</summary>
    public static bool operator >(Dfn left, Dfn right) => left.Value > right.Value;

    /// <summary>Orders by frame number.</summary>
    public static bool operator >=(Dfn left, Dfn right) => left.Value >= right.Value;

    /// <inheritdoc/>
    public override string ToString() => $"dfn:{Value:x}";
}
