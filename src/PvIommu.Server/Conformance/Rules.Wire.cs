using System.Buffers.Binary;
using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Server.Client;
using PvIommu.Server.Wire;
using static PvIommu.Server.Conformance.RuleContext;

namespace PvIommu.Server.Conformance;

/// <summary>The wire protocol's own rules: opening, framing, kinds, sizes.</summary>
public static partial class ConformanceSuite
{
    private static ConformanceRule Rule(string id, string description, Func<RuleContext, string> check) => new(id, description, check);

    private static IEnumerable<ConformanceRule> WireRules() =>
    [
        Rule("wire.default-host", "the default host: PV hardware domain 0 (>= 1 GiB, >= 2 devices on one unit, one with a reserved region, first query max_ctx_no 0), PVH domain 1 (>= 256 MiB, caps-only, a device)", DefaultHost),
        Rule("wire.hello.ok", "an opening as domain 0 gets status 0 and server_caps bits 0-2", c =>
        {
            var caps = c.Dom0.Client.Caps;
            Check((caps & ServerCaps.All) == ServerCaps.All, $"server_caps 0x{(uint)caps:x} lacks memory, DMA or host-info bits");
            return $"0, caps 0x{(uint)caps:x}";
        }),
        Rule("wire.hello.bad-magic", "an opening with a wrong magic gets -EINVAL and the connection closes", c => BadOpening(c, "PVIOMMU2"u8, 0, 0, XenErrno.EINVAL)),
        Rule("wire.hello.flags", "an opening with non-zero flags gets -EINVAL and the connection closes", c => BadOpening(c, WireFormat.Magic, 0, 1, XenErrno.EINVAL)),
        Rule("wire.hello.reserved", "an opening with a non-zero reserved field gets -EINVAL and the connection closes", c => BadOpening(c, WireFormat.Magic, 0, 0, XenErrno.EINVAL, reserved: 1)),
        Rule("wire.hello.no-domain", "an opening for a domain that does not exist gets -ENOENT", c => BadOpening(c, WireFormat.Magic, UnusedDomid(c), 0, XenErrno.ENOENT)),
        Rule("wire.hello.dom-io", "an opening for dom_io (0x7ff1) gets -ENOENT: it is not a domain a vCPU can be", c => BadOpening(c, WireFormat.Magic, 0x7FF1, 0, XenErrno.ENOENT)),
        Rule("wire.frame.unknown-kind", "a request of an unknown kind gets -EOPNOTSUPP and the connection stays usable", c =>
        {
            var seen = Expect(XenErrno.EOPNOTSUPP, c.Dom0.Client.Exchange((FrameKind)7, 0, default, default).Ret ?? 0, "kind 7");
            Expect(null, c.Dom0.Noop(), "noop after it");
            return seen;
        }),
        Rule("wire.frame.reserved", "a request with a non-zero reserved field gets -EINVAL with its seq, then the connection closes", c =>
            BadFrame(c, header => BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(12), 1), 0x5EC1)),
        Rule("wire.frame.short", "a request whose length is below 12 gets -EINVAL with its seq, then the connection closes", c =>
            BadFrame(c, header => BinaryPrimitives.WriteUInt32LittleEndian(header, 8), 0x5EC2, send: 12)),
        Rule("wire.frame.oversize", "a request longer than 16 MiB gets -EINVAL with its seq, then the connection closes", c =>
            BadFrame(c, header => BinaryPrimitives.WriteUInt32LittleEndian(header, WireFormat.MaxFrameLength + 1), 0x5EC3)),
        Rule("wire.frame.order", "pipelined requests are answered in order, each with its seq", Pipelined),
        Rule("wire.hypercall.size", "a hypercall payload of the wrong size gets -EFAULT (query_capabilities with 23 bytes, map_pages with 41)", c =>
        {
            Expect(XenErrno.EFAULT, c.Dom0.Raw((uint)SubOp.QueryCapabilities, new byte[Capabilities.Size - 1]), "query_capabilities, 23 bytes");
            return Expect(XenErrno.EFAULT, c.Dom0.Raw((uint)SubOp.MapPages, new byte[MapPages.Size + 1]), "map_pages, 41 bytes");
        }),
        Rule("wire.hypercall.write-back", "a hypercall's response carries the struct after the call, as many bytes as were sent", c =>
        {
            var bytes = new byte[Capabilities.Size];
            bytes.AsSpan().Fill(0xA5);
            var seen = Expect(null, c.Dom0.Raw((uint)SubOp.QueryCapabilities, bytes), "query_capabilities");
            Check(Capabilities.Read(bytes).PgsizeMask == PageSizes.SupportedMask && bytes[22] == 0 && bytes[23] == 0, "the struct was not written back (pgsize_mask, pad0)");
            return seen;
        }),
        Rule("wire.hypercall.remote-framing", "remote_cmd sends the 16-byte struct followed by the inner struct and gets both back, the inner one written", c =>
        {
            var domu = c.NewDomain("caps-only");
            var (ret, caps) = c.Dom0.Remote(domu.Domid, SubOp.QueryCapabilities, new Capabilities());
            var seen = Expect(null, ret, "remote query_capabilities");
            Check(caps.PgsizeMask == PageSizes.SupportedMask, $"the inner struct was not written back (pgsize_mask 0x{caps.PgsizeMask:x})");
            return seen;
        }),
        Rule("wire.memory.roundtrip", "a domain reads back what it wrote to its memory (kinds 2 and 3), across a page boundary", c =>
        {
            var domu = c.NewDomain();
            var data = Pattern(6000, 7);
            var gpa = (domu.Gfn << 12) + 100;
            Expect(null, domu.Vcpu.Client.WriteMemory(gpa, data), "memory write");
            var back = new byte[data.Length];
            var seen = Expect(null, domu.Vcpu.Client.ReadMemory(gpa, back), "memory read");
            Check(back.AsSpan().SequenceEqual(data), "the bytes read differ from those written");
            return seen;
        }),
        Rule("wire.memory.unbacked", "a memory read or write of a gfn the domain does not have gets -EFAULT", c =>
        {
            var domu = c.NewDomain();
            var beyond = (domu.View.Ram[^1].Gfn + domu.View.Ram[^1].Count + 16) << 12;
            Expect(XenErrno.EFAULT, domu.Vcpu.Client.WriteMemory(beyond, new byte[8]), "write beyond RAM");
            return Expect(XenErrno.EFAULT, domu.Vcpu.Client.ReadMemory(beyond, new byte[8]), "read beyond RAM");
        }),
        Rule("wire.memory.size", "a memory write whose len differs from the bytes sent gets -EFAULT", c =>
        {
            Span<byte> head = stackalloc byte[MemoryRequest.Size + 4];
            new MemoryRequest(c.Host().Domain(0)!.FirstRamGfn << 12, 8, 0).Write(head);
            return Expect(XenErrno.EFAULT, c.Dom0.Client.Exchange(FrameKind.MemoryWrite, 0, head, default).Ret ?? 0, "len 8 with 4 bytes");
        }),
        Rule("wire.host-info", "host info lists domains (domid, name, kind, hardware_domain, pv_iommu, ram, devices), devices (sbdf, owner, context, iommu, reserved), iommus and counters", HostInfoFields),
        Rule("wire.toolstack.eperm", "a toolstack command from a domain other than the hardware domain gets -EPERM", c =>
        {
            var domu = c.NewDomain();
            return Expect(XenErrno.EPERM, domu.Vcpu.Client.Toolstack("""{"op":"audit"}""").Ret, "toolstack from a DomU");
        }),
        Rule("wire.toolstack.bad-command", "a toolstack command that is not JSON, or names no known op, gets -EINVAL", c =>
        {
            Expect(XenErrno.EINVAL, c.Dom0.Client.Toolstack("{not json").Ret, "not JSON");
            return Expect(XenErrno.EINVAL, c.Dom0.Client.Toolstack("""{"op":"reboot_the_moon"}""").Ret, "unknown op");
        }),
    ];

    private static string DefaultHost(RuleContext c)
    {
        var host = c.Host();
        var dom0 = host.Domain(0) ?? throw new RuleFailedException("no domain 0");
        Check(dom0.HardwareDomain && dom0.Kind == "pv", "domain 0 is not a PV hardware domain");
        Check(dom0.RamFrames >= 262144, $"domain 0 has {dom0.RamFrames} frames of RAM, fewer than 1 GiB");
        var devices = host.Devices.Where(d => d.Owner == 0).ToList();
        Check(devices.GroupBy(d => d.Iommu).Any(g => g.Count() >= 2), "domain 0 has no two devices on one IOMMU unit");
        Check(devices.Any(d => d.Reserved.Count > 0), "no device of domain 0 has a reserved region");
        var domu = host.Domain(1) ?? throw new RuleFailedException("no domain 1");
        Check(domu.Kind == "pvh" && domu.PvIommu == "caps-only" && domu.RamFrames >= 65536 && domu.Devices.Count >= 1, "domain 1 is not a PVH caps-only domain with >= 256 MiB and a device");
        var (ret, caps) = c.Dom0.Query();
        var seen = Expect(null, ret, "domain 0's query");
        Check(caps.MaxCtxNo == 0, $"domain 0 reports max_ctx_no {caps.MaxCtxNo}: it is initialised already (this rule holds on a freshly started server)");
        return seen;
    }

    private static ushort UnusedDomid(RuleContext c)
    {
        var used = c.Host().Domains.Select(d => d.Domid).ToHashSet();
        return Enumerable.Range(0x7000, 0xF00).Select(i => (ushort)i).First(id => !used.Contains(id));
    }

    private static string BadOpening(RuleContext c, ReadOnlySpan<byte> magic, ushort domid, ushort flags, XenErrno expected, uint reserved = 0)
    {
        using var transport = c.Target.Open();
        Span<byte> opening = stackalloc byte[WireFormat.HelloSize];
        magic.CopyTo(opening);
        BinaryPrimitives.WriteUInt16LittleEndian(opening[8..], domid);
        BinaryPrimitives.WriteUInt16LittleEndian(opening[10..], flags);
        BinaryPrimitives.WriteUInt32LittleEndian(opening[12..], reserved);
        var reply = WireClient.OpenRaw(transport, opening);
        var seen = Expect(expected, reply.Status, "opening status");
        Check(transport.Receive(new byte[1]) == 0, "the connection stays open after a refused opening");
        return seen;
    }

    /// <summary>Sends a noop header changed by <paramref name="corrupt"/> and checks the -EINVAL reply with the seq, then the close.</summary>
    private static string BadFrame(RuleContext c, Action<byte[]> corrupt, uint seq, int send = WireFormat.RequestHeaderSize)
    {
        var vcpu = c.Connect(0);
        var header = new byte[WireFormat.RequestHeaderSize];
        RequestHeader.For(seq, FrameKind.Hypercall, (ushort)SubOp.Noop, 0).Write(header);
        corrupt(header);
        var response = vcpu.Client.SendRaw(header.AsSpan(0, send));
        var seen = Expect(XenErrno.EINVAL, response.Ret ?? 0, "framing error");
        Check(response.Seq == seq, $"the reply's seq is 0x{response.Seq:x}, not the request's 0x{seq:x}");
        Check(vcpu.Client.WaitForClose(), "the connection stays open after a framing error");
        return seen;
    }

    private static string Pipelined(RuleContext c)
    {
        var vcpu = c.Connect(0);
        var bytes = new byte[3 * WireFormat.RequestHeaderSize];
        for (var i = 0; i < 3; i++)
        {
            RequestHeader.For(0x100u + (uint)i, FrameKind.Hypercall, (ushort)SubOp.Noop, 0).Write(bytes.AsSpan(i * WireFormat.RequestHeaderSize));
        }

        var first = vcpu.Client.SendRaw(bytes);
        var seqs = new List<uint> { first.Seq };
        seqs.Add(vcpu.Client.ReadResponse().Seq);
        seqs.Add(vcpu.Client.ReadResponse().Seq);
        Check(seqs.SequenceEqual([0x100u, 0x101u, 0x102u]), $"seqs came back as {string.Join(", ", seqs)}");
        return "0, 0, 0 in order";
    }

    private static string HostInfoFields(RuleContext c)
    {
        var host = c.Host();
        Check(host.Domains.Count >= 1 && host.Domains.Count(d => d.HardwareDomain) == 1, "host info does not list exactly one hardware domain");
        Check(host.Domains.All(d => d.Kind is "pv" or "pvh" && d.PvIommu is "on" or "caps-only" or "off"), "a domain's kind or pv_iommu is not one of the protocol's words");
        Check(host.Iommus.Count >= 1 && host.Iommus.All(u => u.Format is "vtd-sl" or "amd-v1" && u.Levels is 4 or 5), "the iommus are missing or malformed");
        Check(host.Devices.All(d => host.Iommus.Any(u => u.Name == d.Iommu)), "a device names an IOMMU unit that is not listed");
        foreach (var name in new[] { "hypercalls", "iotlb_invalidations", "faults" })
        {
            Check(host.Counters.ContainsKey(name), $"counters lack {name}");
        }

        return $"{host.Domains.Count} domains, {host.Devices.Count} devices, {host.Iommus.Count} units";
    }

    private static byte[] Pattern(int length, int seed)
    {
        var bytes = new byte[length];
        for (var i = 0; i < length; i++)
        {
            bytes[i] = (byte)((i * 31) + seed);
        }

        return bytes;
    }
}
