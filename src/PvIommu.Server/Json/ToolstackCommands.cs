using System.Buffers;
using System.Text.Json;
using PvIommu.Abi;
using PvIommu.Hypervisor;
using PvIommu.Hypervisor.Domains;
using PvIommu.Hypervisor.Toolstack;

namespace PvIommu.Server.Json;

/// <summary>
/// Kind 6: toolstack commands as JSON, each one call of the host's toolstack API. The shapes
/// are in <c>docs/wire-protocol-notes.md</c>; every result is an object with <c>ok</c>, and on
/// failure <c>errno</c> and <c>error</c>, while the frame's ret carries 0 or -errno.
/// </summary>
internal static partial class ToolstackCommands
{
    /// <summary>The operations understood, in the order the notes list them.</summary>
    public static IReadOnlyList<string> Operations { get; } =
    [
        "create_domain", "destroy_domain", "make_assignable", "assign_device", "deassign_device",
        "set_pv_iommu", "set_device_model", "balloon_in", "balloon_out", "audit",
    ];

    /// <summary>Runs one command; returns 0 or -errno and writes the result object.</summary>
    public static int Run(Host host, ReadOnlySpan<byte> command, IBufferWriter<byte> output)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(command.ToArray(), new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            return WriteError(output, XenErrno.EINVAL, "not JSON: " + e.Message);
        }

        using (document)
        {
            try
            {
                return Dispatch(host, new Command(document.RootElement), output);
            }
            catch (BadCommandException e)
            {
                return WriteError(output, XenErrno.EINVAL, e.Message);
            }
            catch (NoSuchDomainException e)
            {
                return WriteError(output, XenErrno.ENOENT, e.Message);
            }
        }
    }

    /// <summary>Writes <c>{"ok": false, "errno": NAME, "error": message}</c> and returns -errno.</summary>
    public static int WriteError(IBufferWriter<byte> output, XenErrno errno, string message)
    {
        using var json = new Utf8JsonWriter(output);
        json.WriteStartObject();
        json.WriteBoolean("ok", false);
        json.WriteString("errno", errno.Name());
        json.WriteString("error", message);
        json.WriteEndObject();
        return errno.ToReturnValue();
    }

    private static int Dispatch(Host host, Command command, IBufferWriter<byte> output) => command.Op switch
    {
        "create_domain" => CreateDomain(host, command, output),
        "destroy_domain" => Finish(output, host.DestroyDomain(command.Domid("domid"))),
        "make_assignable" => Finish(output, host.MakeAssignable(command.Sbdf("sbdf"))),
        "assign_device" => Finish(output, host.AssignDevice(command.Sbdf("sbdf"), command.Domid("domid"))),
        "deassign_device" => Finish(output, host.DeassignDevice(command.Sbdf("sbdf"))),
        "set_pv_iommu" => Finish(output, host.SetPvIommu(command.Domid("domid"), command.Policy("pv_iommu"))),
        "set_device_model" => Finish(output, host.SetDeviceModel(command.Domid("device_model"), command.Domid("target"))),
        "balloon_in" => BalloonIn(host, command, output),
        "balloon_out" => BalloonOut(host, command, output),
        "audit" => Audit(host, output),
        _ => throw new BadCommandException($"unknown op '{command.Op}'; known: {string.Join(", ", Operations)}"),
    };

    private static int CreateDomain(Host host, Command command, IBufferWriter<byte> output)
    {
        var kind = command.OptionalString("kind") switch
        {
            null or "pvh" => DomainKind.Pvh,
            "pv" => DomainKind.Pv,
            var other => throw new BadCommandException($"kind must be \"pv\" or \"pvh\", not \"{other}\""),
        };
        var frames = command.OptionalFrames("memory_frames")
            ?? (command.OptionalNumber("memory_mib") is { } mib and <= 1 << 20 ? mib * 256 : throw new BadCommandException("memory_frames, or memory_mib up to 1048576, is required"));
        var config = new DomainConfig(command.OptionalString("name") ?? "domain", kind, frames)
        {
            IommuEnabled = command.OptionalBool("iommu") ?? true,
            NoDma = command.OptionalBool("no_dma") ?? false,
            PvIommu = command.OptionalString("pv_iommu") is null ? null : command.Policy("pv_iommu"),
        };
        var result = host.CreateDomain(config, out var domain);
        return Finish(output, result, json => json.WriteNumber("domid", domain!.Id));
    }

    private static int BalloonIn(Host host, Command command, IBufferWriter<byte> output)
    {
        var first = command.OptionalNumber("gfn") ?? 0;
        var count = command.Frames("count");
        if (first > ulong.MaxValue - count)
        {
            throw new BadCommandException("gfn + count wraps");
        }

        var result = host.BalloonIn(command.Domid("domid"), first, count, out var gfns);
        return Finish(output, result, json => WriteRanges(json, "gfns", gfns));
    }

    private static int BalloonOut(Host host, Command command, IBufferWriter<byte> output)
    {
        var gfns = command.GfnList();
        var result = host.BalloonOut(command.Domid("domid"), gfns, out var released);
        return Finish(output, result, json => json.WriteNumber("released", released));
    }

    private static int Audit(Host host, IBufferWriter<byte> output)
    {
        var problems = host.Audit();
        return Finish(output, ToolstackResult.Ok, json =>
        {
            json.WriteBoolean("clean", problems.Count == 0);
            json.WriteStartArray("problems");
            foreach (var problem in problems)
            {
                json.WriteStringValue(problem);
            }

            json.WriteEndArray();
        });
    }

    /// <summary>Gfns as runs of consecutive numbers: <c>[{"gfn": g, "count": n}, ...]</c>.</summary>
    private static void WriteRanges(Utf8JsonWriter json, string name, IReadOnlyList<ulong> gfns)
    {
        json.WriteStartArray(name);
        for (var i = 0; i < gfns.Count;)
        {
            var j = i + 1;
            while (j < gfns.Count && gfns[j] == gfns[j - 1] + 1)
            {
                j++;
            }

            json.WriteStartObject();
            json.WriteNumber("gfn", gfns[i]);
            json.WriteNumber("count", j - i);
            json.WriteEndObject();
            i = j;
        }

        json.WriteEndArray();
    }

    private static int Finish(IBufferWriter<byte> output, ToolstackResult result, Action<Utf8JsonWriter>? fields = null)
    {
        if (!result.IsOk)
        {
            return WriteError(output, result.Error!.Value, result.Message);
        }

        using var json = new Utf8JsonWriter(output);
        json.WriteStartObject();
        json.WriteBoolean("ok", true);
        fields?.Invoke(json);
        json.WriteEndObject();
        return 0;
    }
}
