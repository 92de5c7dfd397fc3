using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace PvIommu.Platform.Pci;

/// <summary>
/// A PCI function address: segment, bus, device, function, printed as <c>ssss:bb:dd.f</c>.
/// </summary>
/// <remarks>
/// Packed as hardware and Xen pack it: <c>seg[31:16] bus[15:8] dev[7:3] fn[2:0]</c>, so
/// <see cref="DevFn"/> is the byte the ABI's <c>physdev_pci_device.devfn</c> carries.
/// </remarks>
public readonly record struct Sbdf : IComparable<Sbdf>
{
    /// <summary>Builds an address from its parts.</summary>
    /// <exception cref="ArgumentOutOfRangeException">device above 31 or function above 7.</exception>
    public Sbdf(ushort segment, byte bus, byte device, byte function)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(device, (byte)31);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(function, (byte)7);
        Value = ((uint)segment << 16) | ((uint)bus << 8) | ((uint)device << 3) | function;
    }

    private Sbdf(uint value) => Value = value;

    /// <summary>The packed 32-bit value.</summary>
    public uint Value { get; }

    /// <summary>PCI segment (domain).</summary>
    public ushort Segment => (ushort)(Value >> 16);

    /// <summary>Bus number.</summary>
    public byte Bus => (byte)(Value >> 8);

    /// <summary>Device and function in one byte, as on the wire.</summary>
    public byte DevFn => (byte)Value;

    /// <summary>Device number, 0–31.</summary>
    public byte Device => (byte)((Value >> 3) & 0x1F);

    /// <summary>Function number, 0–7.</summary>
    public byte Function => (byte)(Value & 0x7);

    /// <summary>Builds an address from segment, bus and the packed devfn byte.</summary>
    public static Sbdf FromDevFn(ushort segment, byte bus, byte devFn) =>
        new(((uint)segment << 16) | ((uint)bus << 8) | devFn);

    /// <summary>The same device with another function number (phantom functions).</summary>
    public Sbdf WithFunction(byte function) => new(Segment, Bus, Device, function);

    /// <summary>Parses <c>ssss:bb:dd.f</c> or <c>bb:dd.f</c> (segment 0), hexadecimal.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out Sbdf sbdf)
    {
        sbdf = default;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        var parts = text.Split(':');
        if (parts.Length is < 2 or > 3)
        {
            return false;
        }

        ushort seg = 0;
        if (parts.Length == 3 && !TryHex(parts[0], 4, out seg))
        {
            return false;
        }

        var devFn = parts[^1].Split('.');
        if (devFn.Length != 2
            || !TryHex(parts[^2], 2, out var bus)
            || !TryHex(devFn[0], 2, out var dev)
            || !TryHex(devFn[1], 1, out var fn)
            || dev > 31 || fn > 7)
        {
            return false;
        }

        sbdf = new Sbdf(seg, (byte)bus, (byte)dev, (byte)fn);
        return true;
    }

    /// <summary>Parses <c>ssss:bb:dd.f</c>; throws <see cref="FormatException"/> on bad text.</summary>
    public static Sbdf Parse(string text) =>
        TryParse(text, out var sbdf) ? sbdf : throw new FormatException($"'{text}' is not a PCI address (ssss:bb:dd.f)");

    private static bool TryHex(string s, int maxDigits, out ushort value)
    {
        value = 0;
        return s.Length >= 1 && s.Length <= maxDigits
            && ushort.TryParse(s, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
    }

    /// <inheritdoc/>
    public int CompareTo(Sbdf other) => Value.CompareTo(other.Value);

    /// <summary>Orders by packed value.</summary>
    public static bool operator <(Sbdf left, Sbdf right) => left.Value < right.Value;

    /// <summary>Orders by packed value.</summary>
    public static bool operator <=(Sbdf left, Sbdf right) => left.Value <= right.Value;

    /// <summary>Orders by packed value.</summary>
    public static bool operator >(Sbdf left, Sbdf right) => left.Value > right.Value;

    /// <summary>Orders by packed value.</summary>
    public static bool operator >=(Sbdf left, Sbdf right) => left.Value >= right.Value;

    /// <inheritdoc/>
    public override string ToString() => $"{Segment:x4}:{Bus:x2}:{Device:x2}.{Function:x1}";
}
