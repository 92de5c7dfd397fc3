using System.Buffers.Binary;
using PvIommu.Platform.Memory;

namespace PvIommu.Platform.Iommu;

/// <summary>The Translation Type field of a VT-d legacy-mode context entry (§9.3).</summary>
public enum VtdTranslationType : byte
{
    /// <summary>00b: untranslated requests go through second-level translation.</summary>
    Translated = 0,

    /// <summary>01b: as <see cref="Translated"/>, and the device may use a device-TLB (ATS).</summary>
    TranslatedDeviceTlb = 1,

    /// <summary>10b: untranslated requests pass through (address unchanged).</summary>
    PassThrough = 2,

    /// <summary>11b: reserved; hardware reports a context-entry fault.</summary>
    Reserved = 3,
}

/// <summary>
/// A VT-d legacy-mode context entry, 128 bits (Intel VT-d Architecture Specification rev. 4.x,
/// §9.3 "Context Entry"). A root entry (§9.1) per bus points at a table of 256 of these,
/// indexed by devfn.
/// </summary>
/// <remarks>
/// <code>
///  lo:  63 ............................ 12  11..4   3..2  1     0
///      [ SLPTPTR (second-level root, HAW-1:12) ][ rsvd ][ TT ][FPD][ P ]
///  hi:  63 ....... 24  23 .......... 8   7    6..3   2..0
///      [    rsvd    ][      DID       ][rsvd][AVAIL][ AW ]
/// </code>
/// AW: 001b = 3-level (39-bit), 010b = 4-level (48-bit), 011b = 5-level (57-bit); the table's
/// levels are AW + 2. With TT = pass-through, SLPTPTR is ignored and AW holds the largest AGAW
/// the hardware supports. A not-present entry (P = 0) blocks the requester.
/// </remarks>
/// <param name="Lo">Bits 63:0.</param>
/// <param name="Hi">Bits 127:64.</param>
public readonly record struct VtdContextEntry(ulong Lo, ulong Hi)
{
    /// <summary>Bytes in one entry.</summary>
    public const int Size = 16;

    /// <summary>Present, lo bit 0.</summary>
    public const ulong PresentBit = 1UL << 0;

    /// <summary>Fault processing disable, lo bit 1.</summary>
    public const ulong FpdBit = 1UL << 1;

    /// <summary>Translation type shift, lo bits 3:2.</summary>
    public const int TtShift = 2;

    /// <summary>Second-level page-table pointer, lo bits 63:12.</summary>
    public const ulong SlptptrMask = 0xFFFF_FFFF_FFFF_F000UL;

    /// <summary>Address width, hi bits 2:0.</summary>
    public const ulong AwMask = 0x7;

    /// <summary>Domain identifier shift, hi bits 23:8.</summary>
    public const int DidShift = 8;

    /// <summary>P: the entry is present.</summary>
    public bool Present => (Lo & PresentBit) != 0;

    /// <summary>FPD: faults of this requester are not recorded.</summary>
    public bool FaultProcessingDisable => (Lo & FpdBit) != 0;

    /// <summary>TT: how requests are translated.</summary>
    public VtdTranslationType TranslationType => (VtdTranslationType)((Lo >> TtShift) & 3);

    /// <summary>SLPTPTR: the frame of the second-level root table.</summary>
    public Mfn SecondLevelRoot => new((Lo & SlptptrMask) >> Frame.Shift);

    /// <summary>AW: the raw address-width encoding.</summary>
    public int AddressWidth => (int)(Hi & AwMask);

    /// <summary>The paging levels AW selects (AW + 2).</summary>
    public int Levels => AddressWidth + 2;

    /// <summary>DID: the domain identifier that tags this requester's cached translations.</summary>
    public ushort DomainId => (ushort)(Hi >> DidShift);

    /// <summary>Builds an entry field by field.</summary>
    /// <exception cref="ArgumentOutOfRangeException">levels outside 3–5, or a root frame beyond 52-bit addresses.</exception>
    public static VtdContextEntry Create(
        VtdTranslationType type, Mfn root, int levels, ushort domainId, bool faultProcessingDisable = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(levels, 3);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(levels, 5);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(root.Value, SlptptrMask >> Frame.Shift, nameof(root));
        var lo = PresentBit | ((ulong)type << TtShift) | (root.Value << Frame.Shift);
        if (faultProcessingDisable)
        {
            lo |= FpdBit;
        }

        var hi = (uint)(levels - 2) | ((ulong)domainId << DidShift);
        return new VtdContextEntry(lo, hi);
    }

    /// <summary>
    /// The entry for <paramref name="context"/>. Blocked is the all-zero (not present) entry;
    /// pass-through writes AW for <paramref name="hardwareLevels"/>, the largest the unit supports.
    /// </summary>
    public static VtdContextEntry FromContext(DeviceContext context, int hardwareLevels) => context.Translation switch
    {
        DeviceTranslation.Translated => Create(VtdTranslationType.Translated, context.Root, context.Levels, context.DomainId),
        DeviceTranslation.PassThrough => Create(VtdTranslationType.PassThrough, default, hardwareLevels, context.DomainId),
        _ => default,
    };

    /// <summary>
    /// What the hardware makes of the entry. Not present, a reserved TT or a translated entry
    /// with an AW other than 3–5 levels all block (hardware reports a context fault for the
    /// latter two).
    /// </summary>
    public DeviceContext ToContext()
    {
        if (!Present)
        {
            return DeviceContext.Blocked;
        }

        return TranslationType switch
        {
            VtdTranslationType.Translated or VtdTranslationType.TranslatedDeviceTlb when Levels is >= 3 and <= 5 =>
                DeviceContext.Translated(DomainId, SecondLevelRoot, Levels),
            VtdTranslationType.PassThrough => DeviceContext.PassThrough(DomainId),
            _ => DeviceContext.Blocked,
        };
    }

    /// <summary>Writes the entry's 16 bytes, little-endian, as it lies in a context table.</summary>
    public void Encode(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(destination, Lo);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..Size], Hi);
    }

    /// <summary>Reads an entry from its 16 bytes.</summary>
    public static VtdContextEntry Decode(ReadOnlySpan<byte> source) =>
        new(BinaryPrimitives.ReadUInt64LittleEndian(source), BinaryPrimitives.ReadUInt64LittleEndian(source[8..Size]));

    /// <inheritdoc/>
    public override string ToString() => $"vtd-ctx {Hi:x16}:{Lo:x16} ({ToContext()})";
}
