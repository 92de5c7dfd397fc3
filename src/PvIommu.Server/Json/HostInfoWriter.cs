using System.Buffers;
using System.Text.Json;
using PvIommu.Hypervisor;
using PvIommu.Hypervisor.Domains;
using PvIommu.Platform.PageTables;

namespace PvIommu.Server.Json;

/// <summary>
/// Kind 5: the host as JSON, with the fields the wire protocol lists ("Host info") and a few
/// more (noted in <c>docs/wire-protocol-notes.md</c>).
/// </summary>
internal static class HostInfoWriter
{
    /// <summary>Writes the host's description.</summary>
    public static void Write(Host host, int sessions, IBufferWriter<byte> output)
    {
        using var json = new Utf8JsonWriter(output);
        json.WriteStartObject();
        json.WriteNumber("version", 1);
        WriteDomains(host, json);
        WriteDevices(host, json);
        WriteIommus(host, json);
        WriteCounters(host, sessions, json);
        json.WriteEndObject();
    }

    /// <summary>The wire name of a policy: "on", "caps-only", "off".</summary>
    public static string PolicyName(PvIommuPolicy policy) => policy switch
    {
        PvIommuPolicy.On => "on",
        PvIommuPolicy.CapsOnly => "caps-only",
        _ => "off",
    };

    /// <summary>The wire name of a domain kind: "pv", "pvh".</summary>
    public static string KindName(DomainKind kind) => kind == DomainKind.Pv ? "pv" : "pvh";

    private static void WriteDomains(Host host, Utf8JsonWriter json)
    {
        json.WriteStartArray("domains");
        foreach (var domain in host.Domains)
        {
            lock (domain.Lock)
            {
                if (domain.IsDying)
                {
                    continue;
                }

                json.WriteStartObject();
                json.WriteNumber("domid", domain.Id);
                json.WriteString("name", domain.Name);
                json.WriteString("kind", KindName(domain.Kind));
                json.WriteBoolean("hardware_domain", domain.IsHardwareDomain);
                json.WriteString("pv_iommu", PolicyName(domain.Policy));
                json.WriteBoolean("iommu", domain.Iommu.Default is not null);
                json.WriteNumber("max_ctx_no", domain.Iommu.MaxContexts);
                if (domain.DeviceModelTarget is { } target)
                {
                    json.WriteNumber("device_model_of", target);
                }

                WriteRam(domain, json);
                json.WriteStartArray("devices");
                foreach (var device in domain.Devices)
                {
                    json.WriteStringValue(device.ToString());
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }
        }

        json.WriteEndArray();
    }

    /// <summary>The domain's RAM as runs of consecutive gfns.</summary>
    private static void WriteRam(Domain domain, Utf8JsonWriter json)
    {
        json.WriteStartArray("ram");
        ulong first = 0, count = 0;
        foreach (var (gfn, entry) in domain.P2m.Entries())
        {
            if (!P2m.IsRam(entry.Type))
            {
                continue;
            }

            if (count > 0 && gfn == first + count)
            {
                count++;
                continue;
            }

            WriteRange(json, "gfn", first, count);
            (first, count) = (gfn, 1);
        }

        WriteRange(json, "gfn", first, count);
        json.WriteEndArray();
    }

    private static void WriteRange(Utf8JsonWriter json, string name, ulong first, ulong count)
    {
        if (count == 0)
        {
            return;
        }

        json.WriteStartObject();
        json.WriteNumber(name, first);
        json.WriteNumber("count", count);
        json.WriteEndObject();
    }

    private static void WriteDevices(Host host, Utf8JsonWriter json)
    {
        json.WriteStartArray("devices");
        foreach (var function in host.Machine.Topology.Functions.Where(f => !f.IsBridge))
        {
            json.WriteStartObject();
            json.WriteString("sbdf", function.Sbdf.ToString());
            json.WriteString("description", function.ClassDescription);
            if (host.DeviceState(function.Sbdf) is { } state)
            {
                json.WriteNumber("owner", state.Owner.Id);
                json.WriteNumber("context", state.Context.Number);
            }

            json.WriteString("iommu", host.Machine.UnitOf(function.Sbdf).Name);
            json.WriteNumber("phantom_functions", function.PhantomFunctions);
            json.WriteStartArray("reserved");
            foreach (var region in function.ReservedRegions)
            {
                WriteRange(json, "dfn", region.Start.Value, region.Frames);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    private static void WriteIommus(Host host, Utf8JsonWriter json)
    {
        json.WriteStartArray("iommus");
        foreach (var unit in host.Machine.Units)
        {
            json.WriteStartObject();
            json.WriteString("name", unit.Name);
            json.WriteString("format", unit.Format == PageTableFormat.AmdV1 ? "amd-v1" : "vtd-sl");
            json.WriteNumber("levels", unit.Levels);
            json.WriteNumber("segment", unit.Segment);
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    private static void WriteCounters(Host host, int sessions, Utf8JsonWriter json)
    {
        var counters = host.Counters;
        json.WriteStartObject("counters");
        json.WriteNumber("hypercalls", counters.Hypercalls);
        json.WriteNumber("multicalls", counters.Multicalls);
        json.WriteNumber("continuations", counters.Continuations);
        json.WriteNumber("iotlb_invalidations", counters.IotlbInvalidations);
        json.WriteNumber("context_invalidations", counters.ContextInvalidations);
        json.WriteNumber("pte_writes", counters.PteWrites);
        json.WriteNumber("faults", host.Machine.TotalFaults);
        json.WriteNumber("sessions", sessions);
        foreach (var domain in host.Domains)
        {
            json.WriteNumber($"arena_pages_used_d{domain.Id}", domain.Iommu.Arena?.InUse ?? 0);
        }

        json.WriteEndObject();
    }
}
