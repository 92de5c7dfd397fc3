using System.Text.Json;
using PvIommu.Abi;
using PvIommu.Server.Tests.Support;
using PvIommu.Server.Wire;

namespace PvIommu.Server.Tests.Protocol;

/// <summary>wire-protocol.md, kinds 5 and 6: host info and toolstack commands, over a real Unix socket.</summary>
public class JsonKindTests
{
    [Fact]
    public async Task HostInfo_HasEveryFieldTheProtocolLists()
    {
        await using var server = SocketServer.Start();
        using var domU = server.Connect(1);
        var (ret, json) = domU.HostInfo();
        Assert.Equal(0, ret);
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        var domains = root.GetProperty("domains").EnumerateArray().ToList();
        Assert.Equal(2, domains.Count);
        var dom0 = domains[0];
        Assert.Equal(0, dom0.GetProperty("domid").GetInt32());
        Assert.Equal("Domain-0", dom0.GetProperty("name").GetString());
        Assert.Equal("pv", dom0.GetProperty("kind").GetString());
        Assert.True(dom0.GetProperty("hardware_domain").GetBoolean());
        Assert.Equal("on", dom0.GetProperty("pv_iommu").GetString());
        Assert.Equal((long)Hosts.SmallDom0Frames, dom0.GetProperty("ram").EnumerateArray().Sum(r => r.GetProperty("count").GetInt64()));
        Assert.Contains("0000:00:04.0", dom0.GetProperty("devices").EnumerateArray().Select(d => d.GetString()));
        var domU1 = domains[1];
        Assert.Equal("pvh", domU1.GetProperty("kind").GetString());
        Assert.Equal("caps-only", domU1.GetProperty("pv_iommu").GetString());
        Assert.Equal(0UL, domU1.GetProperty("ram")[0].GetProperty("gfn").GetUInt64());
        Assert.Equal(65536UL, domU1.GetProperty("ram")[0].GetProperty("count").GetUInt64());

        var gpu = root.GetProperty("devices").EnumerateArray().Single(d => d.GetProperty("sbdf").GetString() == "0000:00:04.0");
        Assert.Equal(0, gpu.GetProperty("owner").GetInt32());
        Assert.Equal(0, gpu.GetProperty("context").GetInt32());
        Assert.Equal("dmar0", gpu.GetProperty("iommu").GetString());
        Assert.Equal(0x7F000UL, gpu.GetProperty("reserved")[0].GetProperty("dfn").GetUInt64());
        Assert.Equal(16UL, gpu.GetProperty("reserved")[0].GetProperty("count").GetUInt64());

        var unit = root.GetProperty("iommus")[0];
        Assert.Equal("vtd-sl", unit.GetProperty("format").GetString());
        Assert.Equal(4, unit.GetProperty("levels").GetInt32());
        var counters = root.GetProperty("counters");
        foreach (var name in new[] { "hypercalls", "iotlb_invalidations", "faults", "arena_pages_used_d0", "arena_pages_used_d1" })
        {
            Assert.Equal(JsonValueKind.Number, counters.GetProperty(name).ValueKind);
        }
    }

    [Fact]
    public async Task HostInfo_WithPayload_Efault()
    {
        await using var server = SocketServer.Start();
        using var dom0 = server.Connect(0);
        Assert.Equal(XenErrno.EFAULT.ToReturnValue(), dom0.Exchange(FrameKind.HostInfo, 0, new byte[1], default).Ret);
    }

    [Fact]
    public async Task Toolstack_EveryCommand_DoesWhatTheNotesSay()
    {
        await using var server = SocketServer.Start();
        using var dom0 = server.Connect(0);
        var created = Ok(dom0.Toolstack("""{"op":"create_domain","name":"guest","kind":"pvh","memory_mib":8,"pv_iommu":"caps-only"}"""));
        var domid = created.GetProperty("domid").GetInt32();
        Assert.Equal(2, domid);
        Ok(dom0.Toolstack("""{"op":"make_assignable","sbdf":"0000:00:03.0"}"""));
        Ok(dom0.Toolstack("""{"op":"assign_device","sbdf":"0000:00:03.0","domid":2}"""));
        Ok(dom0.Toolstack("""{"op":"set_pv_iommu","domid":2,"pv_iommu":"on"}"""));
        Ok(dom0.Toolstack("""{"op":"set_device_model","device_model":0,"target":2}"""));
        var ballooned = Ok(dom0.Toolstack("""{"op":"balloon_in","domid":2,"gfn":4096,"count":3}"""));
        Assert.Equal(4096UL, ballooned.GetProperty("gfns")[0].GetProperty("gfn").GetUInt64());
        Assert.Equal(3, ballooned.GetProperty("gfns")[0].GetProperty("count").GetInt32());
        Assert.Equal(2, Ok(dom0.Toolstack("""{"op":"balloon_out","domid":2,"gfns":[4096,4097]}""")).GetProperty("released").GetInt32());
        Assert.Equal(1, Ok(dom0.Toolstack("""{"op":"balloon_out","domid":2,"gfn":4098,"count":1}""")).GetProperty("released").GetInt32());
        Ok(dom0.Toolstack("""{"op":"deassign_device","sbdf":"0000:00:03.0"}"""));
        Ok(dom0.Toolstack("""{"op":"destroy_domain","domid":2}"""));
        Ok(dom0.Toolstack("""{"op":"assign_device","sbdf":"0000:00:03.0","domid":0}"""));
        Assert.True(Ok(dom0.Toolstack("""{"op":"audit"}""")).GetProperty("clean").GetBoolean());
        server.AssertNoLeaks();
    }

    [Theory]
    [InlineData("""{"op":"destroy_domain","domid":9}""", XenErrno.ENOENT)]
    [InlineData("""{"op":"destroy_domain","domid":32753}""", XenErrno.ENOENT)]
    [InlineData("""{"op":"destroy_domain","domid":0}""", XenErrno.ENOENT)]
    [InlineData("""{"op":"assign_device","sbdf":"0000:00:02.0","domid":1}""", XenErrno.EBUSY)]
    [InlineData("""{"op":"make_assignable","sbdf":"0000:01:00.0"}""", XenErrno.ENODEV)]
    [InlineData("""{"op":"make_assignable","sbdf":"zz"}""", XenErrno.EINVAL)]
    [InlineData("""{"op":"create_domain"}""", XenErrno.EINVAL)]
    [InlineData("""{"op":"create_domain","memory_mib":8,"kind":"hvm"}""", XenErrno.EINVAL)]
    [InlineData("""{"op":"set_pv_iommu","domid":1,"pv_iommu":"maybe"}""", XenErrno.EINVAL)]
    [InlineData("""{"op":"balloon_in","domid":1,"gfn":0,"count":1}""", XenErrno.EBUSY)]
    [InlineData("""{"op":"balloon_in","domid":1,"gfn":18446744073709551615,"count":2}""", XenErrno.EINVAL)]
    [InlineData("""{"op":"launch"}""", XenErrno.EINVAL)]
    [InlineData("""[]""", XenErrno.EINVAL)]
    [InlineData("""not json""", XenErrno.EINVAL)]
    public async Task Toolstack_Refused_ErrnoAndErrorObject(string command, XenErrno expected)
    {
        await using var server = SocketServer.Start();
        using var dom0 = server.Connect(0);
        var (ret, json) = dom0.Toolstack(command);
        Assert.Equal(expected.ToReturnValue(), ret);
        using var doc = JsonDocument.Parse(json);
        Assert.False(doc.RootElement.GetProperty("ok").GetBoolean());
        Assert.Equal(expected.ToString(), doc.RootElement.GetProperty("errno").GetString());
        Assert.False(string.IsNullOrEmpty(doc.RootElement.GetProperty("error").GetString()));
        server.AssertNoLeaks();
    }

    [Fact]
    public async Task Toolstack_FromDomU_Eperm()
    {
        await using var server = SocketServer.Start();
        using var domU = server.Connect(1);
        var (ret, json) = domU.Toolstack("""{"op":"audit"}""");
        Assert.Equal(XenErrno.EPERM.ToReturnValue(), ret);
        Assert.Contains("EPERM", json, StringComparison.Ordinal);
    }

    private static JsonElement Ok((int Ret, string Json) result)
    {
        Assert.True(result.Ret == 0, result.Json);
        using var doc = JsonDocument.Parse(result.Json);
        Assert.True(doc.RootElement.GetProperty("ok").GetBoolean());
        return doc.RootElement.Clone();
    }
}
