using System.Buffers.Binary;
using PvIommu.Platform.Memory;

namespace PvIommu.Platform.Iommu;

/// <summary>
/// An AMD-Vi device table entry (AMD I/O Virtualization Technology (IOMMU) Specification,
/// pub. 48882, §2.2.2.1 "Device Table Entry Format"): 256 bits, one per requester ID, in a
/// table indexed by bus and devfn. This model keeps the first 128 bits (DMA translation); the
/// interrupt-remapping half is written as zero.
/// </summary>
/// <remarks>
/// <code>
///  bits 63:0   63  62  61  60 ... 52   51 ................. 12  11..9  8..2   1   0
///             [rsv][IW][IR][ guest  ][ Host Page Table Root Ptr ][Mode][ .. ][TV][V ]
///  bits 127:64 63 ................. 16  15 ............ 0
///             [  guest / ATS / IOTLB ][     DomainID     ]
/// </code>
/// V = 0: the entry is invalid and the device's DMA passes untranslated (which is why an
/// IOMMU driver marks every entry valid before enabling the unit). V = 1, TV = 0: no
/// translation information; this model blocks. Mode 0 with V = TV = 1: no translation, access
/// limited by IR/IW (both clear blocks every access: how Xen and Linux block a device).
/// Mode 1–6: that many page-table levels. Mode 7 is reserved (an illegal-DTE event).
/// </remarks>
/// <param name="Lo">Bits 63:0.</param>
/// <param name="Hi">Bits 127:64.</param>
public readonly record struct AmdDeviceTableEntry(ulong Lo, ulong Hi)
{
    /// <summary>Bytes in one hardware entry (256 bits).</summary>
    public const int Size = 32;

    /// <summary>Valid, bit 0.</summary>
    public const ulong ValidBit = 1UL << 0;

    /// <summary>Translation information valid, bit 1.</summary>
    public const ulong TranslationValidBit = 1UL << 1;

    /// <summary>Paging mode shift, bits 11:9.</summary>
    public const int ModeShift = 9;

    /// <summary>Host page-table root pointer, bits 51:12.</summary>
    public const ulong RootMask = 0x000F_FFFF_FFFF_F000UL;

    /// <summary>Read permission, bit 61.</summary>
    public const ulong IrBit = 1UL << 61;

    /// <summary>Write permission, bit 62.</summary>
    public const ulong IwBit = 1UL << 62;

    /// <summary>V: the entry is valid.</summary>
    public bool Valid => (Lo & ValidBit) != 0;

    /// <summary>TV: the translation fields are valid.</summary>
    public bool TranslationValid => (Lo & TranslationValidBit) != 0;

    /// <summary>Mode: 0 = no translation, 1–6 = page-table levels, 7 = reserved.</summary>
    public int Mode => (int)((Lo >> ModeShift) & 7);

    /// <summary>The frame of the host page table's root.</summary>
    public Mfn Root => new((Lo & RootMask) >> Frame.Shift);

    /// <summary>IR: device reads are permitted.</summary>
    public bool ReadPermitted => (Lo & IrBit) != 0;

    /// <summary>IW: device writes are permitted.</summary>
    public bool WritePermitted => (Lo & IwBit) != 0;

    /// <summary>DomainID: tags this requester's cached translations.</summary>
    public ushort DomainId => (ushort)Hi;

    /// <summary>Builds a valid entry (V = TV = 1) field by field.</summary>
    /// <exception cref="ArgumentOutOfRangeException">mode above 6, or a root frame beyond 52-bit addresses.</exception>
    public static AmdDeviceTableEntry Create(int mode, Mfn root, bool read, bool write, ushort domainId)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(mode);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(mode, 6);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(root.Value, RootMask >> Frame.Shift, nameof(root));
        var lo = ValidBit | TranslationValidBit | ((ulong)(uint)mode << ModeShift) | (root.Value << Frame.Shift);
        lo |= read ? IrBit : 0;
        lo |= write ? IwBit : 0;
        return new AmdDeviceTableEntry(lo, domainId);
    }

    /// <summary>
    /// The entry for <paramref name="context"/>. Blocked is V = TV = 1, Mode 0, IR = IW = 0;
    /// translated and pass-through entries grant IR and IW, leaving rights to the page table.
    /// </summary>
    public static AmdDeviceTableEntry FromContext(DeviceContext context) => context.Translation switch
    {
        DeviceTranslation.Translated => Create(context.Levels, context.Root, true, true, context.DomainId),
        DeviceTranslation.PassThrough => Create(0, default, true, true, context.DomainId),
        _ => Create(0, default, false, false, 0),
    };

    /// <summary>
    /// What the hardware makes of the entry, in neutral terms. An entry granting neither IR nor
    /// IW blocks; one granting only one of them reads as granting both (the neutral form has no
    /// per-context rights; this model never writes such an entry).
    /// </summary>
    public DeviceContext ToContext()
    {
        if (!Valid)
        {
            return DeviceContext.PassThrough(0);
        }

        if (!TranslationValid || Mode == 7 || (Lo & (IrBit | IwBit)) == 0)
        {
            return DeviceContext.Blocked;
        }

        return Mode == 0 ? DeviceContext.PassThrough(DomainId) : DeviceContext.Translated(DomainId, Root, Mode);
    }

    /// <summary>Writes the entry's 32 bytes, little-endian; bits 255:128 are zero.</summary>
    public void Encode(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(destination, Lo);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], Hi);
        destination[16..Size].Clear();
    }

    /// <summary>Reads an entry from its 32 bytes (bits 255:128 are not modelled).</summary>
    public static AmdDeviceTableEntry Decode(ReadOnlySpan<byte> source) =>
        new(BinaryPrimitives.ReadUInt64LittleEndian(source[..8]), BinaryPrimitives.ReadUInt64LittleEndian(source[8..Size]));

    /// <inheritdoc/>
    public override string ToString() => $"amd-dte {Hi:x16}:{Lo:x16} ({ToContext()})";
}
