using System.Globalization;
using System.Text.Json;
using PvIommu.Abi.Structs;

namespace PvIommu.Server.Conformance;

/// <summary>The host-info document (kind 5), parsed into what the rules use.</summary>
public sealed class HostView
{
    private HostView(JsonElement root)
    {
        Domains = [.. Array(root, "domains").Select(d => new DomainView(
            (ushort)Number(d, "domid"),
            String(d, "name"),
            String(d, "kind"),
            d.GetProperty("hardware_domain").GetBoolean(),
            String(d, "pv_iommu"),
            [.. Array(d, "ram").Select(r => (Number(r, "gfn"), Number(r, "count")))],
            [.. Array(d, "devices").Select(s => s.GetString()!)]))];
        Devices = [.. Array(root, "devices").Select(d => new DeviceView(
            String(d, "sbdf"),
            (ushort)Number(d, "owner"),
            (ushort)Number(d, "context"),
            String(d, "iommu"),
            [.. Array(d, "reserved").Select(r => (Number(r, "dfn"), Number(r, "count")))]))];
        Iommus = [.. Array(root, "iommus").Select(u => new IommuView(String(u, "name"), String(u, "format"), (int)Number(u, "levels")))];
        Counters = root.GetProperty("counters").EnumerateObject()
            .Where(p => p.Value.ValueKind == JsonValueKind.Number)
            .ToDictionary(p => p.Name, p => p.Value.GetInt64(), StringComparer.Ordinal);
    }

    /// <summary>The domains.</summary>
    public IReadOnlyList<DomainView> Domains { get; }

    /// <summary>The PCI devices.</summary>
    public IReadOnlyList<DeviceView> Devices { get; }

    /// <summary>The IOMMU units.</summary>
    public IReadOnlyList<IommuView> Iommus { get; }

    /// <summary>The named counts.</summary>
    public IReadOnlyDictionary<string, long> Counters { get; }

    /// <summary>Parses a host-info document.</summary>
    /// <exception cref="RuleFailedException">a field the protocol requires is missing or mistyped.</exception>
    public static HostView Parse(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            return new HostView(document.RootElement.Clone());
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new RuleFailedException($"host info is not the document the protocol describes: {e.Message}", e);
        }
    }

    /// <summary>The domain <paramref name="domid"/>, if listed.</summary>
    public DomainView? Domain(ushort domid) => Domains.FirstOrDefault(d => d.Domid == domid);

    /// <summary>The device at <paramref name="sbdf"/>, if listed.</summary>
    public DeviceView? Device(string sbdf) => Devices.FirstOrDefault(d => d.Sbdf == sbdf);

    private static IEnumerable<JsonElement> Array(JsonElement e, string name) => e.GetProperty(name).EnumerateArray();

    private static string String(JsonElement e, string name) => e.GetProperty(name).GetString() ?? throw new FormatException($"{name} is null");

    private static ulong Number(JsonElement e, string name) => e.GetProperty(name).GetUInt64();
}

/// <summary>A domain as host info lists it.</summary>
/// <param name="Domid">Its id.</param>
/// <param name="Name">Its name.</param>
/// <param name="Kind">"pv" or "pvh".</param>
/// <param name="HardwareDomain">Whether it is the hardware domain.</param>
/// <param name="PvIommu">"on", "caps-only" or "off".</param>
/// <param name="Ram">Its RAM as gfn runs.</param>
/// <param name="Devices">Its devices (SBDF strings).</param>
public sealed record DomainView(ushort Domid, string Name, string Kind, bool HardwareDomain, string PvIommu, IReadOnlyList<(ulong Gfn, ulong Count)> Ram, IReadOnlyList<string> Devices)
{
    /// <summary>RAM frames.</summary>
    public ulong RamFrames => Ram.Aggregate(0UL, (sum, r) => sum + r.Count);

    /// <summary>The first gfn of its RAM.</summary>
    public ulong FirstRamGfn => Ram.Count > 0 ? Ram[0].Gfn : throw new RuleFailedException($"d{Domid} lists no RAM");
}

/// <summary>A device as host info lists it.</summary>
/// <param name="Sbdf">"ssss:bb:dd.f".</param>
/// <param name="Owner">The owning domid.</param>
/// <param name="Context">The owner's context it is in.</param>
/// <param name="Iommu">Its IOMMU unit.</param>
/// <param name="Reserved">Its reserved regions as dfn runs.</param>
public sealed record DeviceView(string Sbdf, ushort Owner, ushort Context, string Iommu, IReadOnlyList<(ulong Dfn, ulong Count)> Reserved)
{
    /// <summary>The device as the ABI carries it.</summary>
    public PciDevice Pci => PciAddress.Parse(Sbdf);
}

/// <summary>An IOMMU unit as host info lists it.</summary>
/// <param name="Name">Its name.</param>
/// <param name="Format">"vtd-sl" or "amd-v1".</param>
/// <param name="Levels">Its page-table levels.</param>
public sealed record IommuView(string Name, string Format, int Levels);

/// <summary>PCI addresses as the protocol writes them, <c>ssss:bb:dd.f</c> in hexadecimal.</summary>
public static class PciAddress
{
    /// <summary>Parses <c>ssss:bb:dd.f</c>.</summary>
    /// <exception cref="FormatException">not such an address.</exception>
    public static PciDevice Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split(':', '.');
        if (parts.Length != 4
            || !ushort.TryParse(parts[0], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var seg)
            || !byte.TryParse(parts[1], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var bus)
            || !byte.TryParse(parts[2], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var dev) || dev > 31
            || !byte.TryParse(parts[3], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var fn) || fn > 7)
        {
            throw new FormatException($"'{text}' is not a PCI address ssss:bb:dd.f");
        }

        return new PciDevice { Seg = seg, Bus = bus, DevFn = (byte)((dev << 3) | fn) };
    }

    /// <summary>Formats <c>ssss:bb:dd.f</c>.</summary>
    public static string Format(PciDevice device) =>
        string.Create(CultureInfo.InvariantCulture, $"{device.Seg:x4}:{device.Bus:x2}:{device.DevFn >> 3:x2}.{device.DevFn & 7:x1}");
}
