using System.Text.Json;
using PvIommu.Hypervisor.Domains;
using PvIommu.Platform.Pci;

namespace PvIommu.Server.Json;

/// <summary>Reading a command's fields; a missing or mistyped field is a <see cref="BadCommandException"/> (-EINVAL).</summary>
internal static partial class ToolstackCommands
{
    /// <summary>At most this many gfns in one balloon_out (a command is at most 16 MiB anyway).</summary>
    private const ulong MaxBalloonOut = 1 << 22;

    /// <summary>At most this many frames in one create_domain or balloon_in (1 TiB); the heap is the real limit.</summary>
    private const ulong MaxFrames = 1UL << 28;

    private readonly struct Command
    {
        private readonly JsonElement _root;

        public Command(JsonElement root)
        {
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new BadCommandException("a command is a JSON object with an \"op\"");
            }

            _root = root;
            Op = String("op");
        }

        public string Op { get; }

        public string String(string name) => OptionalString(name) ?? throw new BadCommandException($"\"{name}\" is required");

        public string? OptionalString(string name) => Field(name) switch
        {
            null => null,
            { ValueKind: JsonValueKind.String } e => e.GetString()!,
            _ => throw new BadCommandException($"\"{name}\" must be a string"),
        };

        public ulong Number(string name) => OptionalNumber(name) ?? throw new BadCommandException($"\"{name}\" is required");

        public ulong? OptionalNumber(string name) => Field(name) switch
        {
            null => null,
            { ValueKind: JsonValueKind.Number } e when e.TryGetUInt64(out var value) => value,
            _ => throw new BadCommandException($"\"{name}\" must be a non-negative integer"),
        };

        public bool? OptionalBool(string name) => Field(name) switch
        {
            null => null,
            { ValueKind: JsonValueKind.True } => true,
            { ValueKind: JsonValueKind.False } => false,
            _ => throw new BadCommandException($"\"{name}\" must be true or false"),
        };

        /// <summary>A domid; dom_io is no domain a toolstack command may name (-ENOENT).</summary>
        public ushort Domid(string name) => Number(name) switch
        {
            Hypervisor.Host.DomIoId => throw new NoSuchDomainException($"no domain {Hypervisor.Host.DomIoId} (dom_io is not a toolstack domain)"),
            <= ushort.MaxValue and var n => (ushort)n,
            _ => throw new BadCommandException($"\"{name}\" must be a domid (0..65535)"),
        };

        /// <summary>A frame count, at most <see cref="MaxFrames"/>.</summary>
        public ulong Frames(string name) => OptionalFrames(name) ?? throw new BadCommandException($"\"{name}\" is required");

        /// <summary>A frame count, at most <see cref="MaxFrames"/>, if given.</summary>
        public ulong? OptionalFrames(string name) => OptionalNumber(name) switch
        {
            null => null,
            <= MaxFrames and var n => n,
            _ => throw new BadCommandException($"\"{name}\" must be at most {MaxFrames} frames"),
        };

        public Sbdf Sbdf(string name) =>
            Platform.Pci.Sbdf.TryParse(String(name), out var sbdf) ? sbdf : throw new BadCommandException($"\"{name}\" must be a PCI address \"ssss:bb:dd.f\"");

        public PvIommuPolicy Policy(string name) => String(name) switch
        {
            "on" => PvIommuPolicy.On,
            "caps-only" => PvIommuPolicy.CapsOnly,
            "off" => PvIommuPolicy.Off,
            var other => throw new BadCommandException($"\"{name}\" must be \"on\", \"caps-only\" or \"off\", not \"{other}\""),
        };

        /// <summary>balloon_out's gfns: <c>"gfns": [g, ...]</c>, or <c>"gfn"</c> and <c>"count"</c>.</summary>
        public List<ulong> GfnList()
        {
            if (Field("gfns") is { } list)
            {
                if (list.ValueKind != JsonValueKind.Array || (ulong)list.GetArrayLength() > MaxBalloonOut)
                {
                    throw new BadCommandException($"\"gfns\" must be an array of at most {MaxBalloonOut} gfns");
                }

                return [.. list.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Number && e.TryGetUInt64(out var g)
                    ? g
                    : throw new BadCommandException("\"gfns\" must hold non-negative integers"))];
            }

            var first = Number("gfn");
            var count = Number("count");
            if (count > MaxBalloonOut || first > ulong.MaxValue - count)
            {
                throw new BadCommandException($"\"count\" must be at most {MaxBalloonOut} and the range must not wrap");
            }

            return [.. Enumerable.Range(0, (int)count).Select(i => first + (ulong)i)];
        }

        private JsonElement? Field(string name) => _root.TryGetProperty(name, out var e) && e.ValueKind != JsonValueKind.Null ? e : null;
    }
}

/// <summary>A toolstack command that is not understood (-EINVAL).</summary>
internal sealed class BadCommandException(string message) : Exception(message);

/// <summary>A toolstack command that names a domain that no command may name (-ENOENT).</summary>
internal sealed class NoSuchDomainException(string message) : Exception(message);
