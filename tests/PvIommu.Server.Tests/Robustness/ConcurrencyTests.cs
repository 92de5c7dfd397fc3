using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Hypervisor;
using PvIommu.Hypervisor.Toolstack;
using PvIommu.Server.Tests.Protocol;
using PvIommu.Server.Tests.Support;

namespace PvIommu.Server.Tests.Robustness;

/// <summary>Many connections at once, and clients that go away in the middle of a call.</summary>
public class ConcurrencyTests
{
    private const int Connections = 64;
    private const int Rounds = 40;

    [Fact]
    public async Task SixtyFourConnections_AtOnce_EachGetsItsOwnResults_BooksBalance()
    {
        await using var server = SocketServer.Start();
        using (var setup = server.Connect(0))
        {
            var init = new byte[Init.Size];
            new Init { MaxCtxNo = 128, ArenaOrder = 12 }.Write(init);
            Assert.Equal(0, setup.IommuOp((uint)SubOp.Init, init));
        }

        var dom0Gfn = server.Host.Dom0FirstGfn();
        using var start = new Barrier(Connections);
        var workers = Enumerable.Range(0, Connections).Select(i => Task.Factory.StartNew(
            () =>
            {
                start.SignalAndWait();
                switch (i % 8)
                {
                    case 7:
                        Misbehave(server, i);
                        break;
                    case 0 or 2 or 4:
                        DomUWork(server, i);
                        break;
                    default:
                        Dom0Work(server, i, dom0Gfn);
                        break;
                }
            },
            TaskCreationOptions.LongRunning)).ToArray();
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromMinutes(3));

        using var after = server.Connect(0);
        Assert.Equal(0, after.IommuOp((uint)SubOp.Noop, []));
        server.AssertNoLeaks();
    }

    [Fact]
    public async Task ClientGone_InTheMiddleOfALargeMap_TheCallCompletes_NothingHalfDone()
    {
        var trace = new SynchronizedTrace();
        var host = DefaultHost.Create(new HostOptions { PhysicalCpus = 2, PreemptBatch = 64 }, dom0Frames: 65536);
        await using var server = SocketServer.Start(trace, host: host);
        var gfn = host.Dom0FirstGfn();
        using var dom0 = server.Connect(0);
        var ctx = MemoryAndDmaTests.InitAndAttach(dom0, Frames.Pci(DefaultHost.Nic));

        const uint Pages = 65536;
        using (var doomed = server.Connect(0))
        {
            var map = new byte[MapPages.Size];
            new MapPages { CtxNo = ctx, Gfn = gfn, Dfn = 0x100000, NrPages = Pages, MapFlags = MapFlags.Readable, Pgsize = PageSizes.Size4K }.Write(map);
            doomed.Exchange(Wire.FrameKind.Hypercall, (ushort)SubOp.MapPages, map, default);
        }

        Assert.True(trace.WaitFor("map_pages ret=0", TimeSpan.FromMinutes(2)), "the map never completed");
        Assert.Empty(host.Audit());
        var lookup = new byte[LookupPage.Size];
        new LookupPage { CtxNo = ctx, Dfn = 0x100000 + Pages - 1 }.Write(lookup);
        Assert.Equal(0, dom0.IommuOp((uint)SubOp.LookupPage, lookup));
        Assert.Equal(gfn + Pages - 1, LookupPage.Read(lookup).Gfn);
        MemoryAndDmaTests.Cleanup(dom0, ctx, Frames.Pci(DefaultHost.Nic));
        server.AssertNoLeaks();
    }

    [Fact]
    public async Task ClientGone_BeforeReadingAResponse_ServerGoesOn()
    {
        await using var server = SocketServer.Start();
        for (var i = 0; i < 20; i++)
        {
            using var transport = server.Transport();
            transport.Send(Frames.Hello(0));
            transport.Send(Frames.Request(1, Wire.FrameKind.HostInfo, 0, default));
        }

        using var dom0 = server.Connect(0);
        Assert.Equal(0, dom0.IommuOp((uint)SubOp.Noop, []));
    }

    /// <summary>A dom0 vCPU: its own context, maps and unmaps at its own dfns, looks them up.</summary>
    private static void Dom0Work(SocketServer server, int index, ulong dom0Gfn)
    {
        using var vcpu = server.Connect(0);
        var alloc = new byte[Alloc.Size];
        Assert.Equal(0, vcpu.IommuOp((uint)SubOp.AllocContext, alloc));
        var ctx = Alloc.Read(alloc).CtxNo;
        var gfn = dom0Gfn + (ulong)(index * 64);
        for (var round = 0; round < Rounds; round++)
        {
            Assert.Equal(0, MemoryAndDmaTests.Map(vcpu, ctx, gfn, 0x1000, 16, MapFlags.Readable | MapFlags.Writeable));
            var lookup = new byte[LookupPage.Size];
            new LookupPage { CtxNo = ctx, Dfn = 0x1000 + (ulong)(round % 16) }.Write(lookup);
            Assert.Equal(0, vcpu.IommuOp((uint)SubOp.LookupPage, lookup));
            Assert.Equal(gfn + (ulong)(round % 16), LookupPage.Read(lookup).Gfn);
            var unmap = new byte[UnmapPages.Size];
            new UnmapPages { CtxNo = ctx, Dfn = 0x1000, NrPages = 16, Pgsize = PageSizes.Size4K }.Write(unmap);
            Assert.Equal(0, vcpu.IommuOp((uint)SubOp.UnmapPages, unmap));
            Assert.Equal(16u, UnmapPages.Read(unmap).Unmapped);
        }

        var free = new byte[Free.Size];
        new Free { CtxNo = ctx }.Write(free);
        Assert.Equal(0, vcpu.IommuOp((uint)SubOp.FreeContext, free));
    }

    /// <summary>A DomU vCPU: its own memory region, its NIC's DMA in context 0 (dfn = gfn), queries.</summary>
    private static void DomUWork(SocketServer server, int index)
    {
        using var vcpu = server.Connect(1);
        var nic = Frames.Pci(DefaultHost.DomUNic);
        var gpa = (ulong)(index * 0x10000);
        var data = new byte[3000];
        var back = new byte[3000];
        for (var round = 0; round < Rounds; round++)
        {
            data.AsSpan().Fill((byte)(index + round));
            Assert.Equal(0, vcpu.WriteMemory(gpa, data));
            Assert.Equal(0, vcpu.Dma(nic, false, gpa, back).Ret);
            Assert.Equal(data, back);
            Assert.Equal(0, vcpu.Dma(nic, true, gpa + 0x2000, data).Ret);
            Assert.Equal(0, vcpu.ReadMemory(gpa + 0x2000, back));
            Assert.Equal(data, back);
            var caps = new byte[Capabilities.Size];
            Assert.Equal(0, vcpu.IommuOp((uint)SubOp.QueryCapabilities, caps));
            Assert.Equal(XenErrno.EPERM.ToReturnValue(), vcpu.IommuOp((uint)SubOp.Init, new byte[Init.Size]));
        }
    }

    /// <summary>A client that does a few calls, then sends a malformed frame and is cut off.</summary>
    private static void Misbehave(SocketServer server, int index)
    {
        using var vcpu = server.Connect(0);
        for (var round = 0; round < Rounds / 2; round++)
        {
            Assert.Equal(0, vcpu.IommuOp((uint)SubOp.Noop, []));
        }

        var response = vcpu.SendRaw(Frames.Request((uint)index, Wire.FrameKind.Hypercall, 0, default, reserved: 7));
        Assert.Equal(XenErrno.EINVAL.ToReturnValue(), response.Ret);
        Assert.Equal((uint)index, response.Seq);
        Assert.True(vcpu.WaitForClose());
    }

    /// <summary>A trace writer the test can wait on.</summary>
    private sealed class SynchronizedTrace : StringWriter
    {
        private readonly Lock _lock = new();

        public override void WriteLine(string? value)
        {
            lock (_lock)
            {
                base.WriteLine(value);
            }
        }

        public bool WaitFor(string text, TimeSpan timeout)
        {
            var deadline = DateTime.UtcNow + timeout;
            while (DateTime.UtcNow < deadline)
            {
                lock (_lock)
                {
                    if (ToString().Contains(text, StringComparison.Ordinal))
                    {
                        return true;
                    }
                }

                Thread.Sleep(10);
            }

            return false;
        }
    }
}
