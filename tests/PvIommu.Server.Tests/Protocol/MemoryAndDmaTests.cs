using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Hypervisor.Toolstack;
using PvIommu.Platform.Iommu;
using PvIommu.Server.Client;
using PvIommu.Server.Tests.Support;
using PvIommu.Server.Wire;

namespace PvIommu.Server.Tests.Protocol;

/// <summary>wire-protocol.md, kinds 2-4: the domain's memory and device DMA, over a real Unix socket.</summary>
public class MemoryAndDmaTests
{
    private static readonly PciDevice _nic = Frames.Pci(DefaultHost.Nic);

    [Fact]
    public async Task Memory_WriteThenRead_AcrossFrames_SameBytes()
    {
        await using var server = SocketServer.Start();
        using var dom0 = server.Connect(0);
        var gpa = (server.Host.Dom0FirstGfn() << 12) + 4000;
        var data = Enumerable.Range(0, 10000).Select(i => (byte)(i * 7)).ToArray();
        Assert.Equal(0, dom0.WriteMemory(gpa, data));
        var back = new byte[data.Length];
        Assert.Equal(0, dom0.ReadMemory(gpa, back));
        Assert.Equal(data, back);
    }

    [Fact]
    public async Task Memory_UnbackedGfn_EfaultAndNothingWritten()
    {
        await using var server = SocketServer.Start();
        using var domU = server.Connect(1);
        var last = (ulong)65535 << 12;
        Assert.Equal(XenErrno.EFAULT.ToReturnValue(), domU.WriteMemory(last, new byte[8192]));
        var back = new byte[4096];
        Assert.Equal(0, domU.ReadMemory(last, back));
        Assert.All(back, b => Assert.Equal(0, b));
        Assert.Equal(XenErrno.EFAULT.ToReturnValue(), domU.ReadMemory(last + 4096, new byte[1]));
    }

    [Fact]
    public async Task Memory_SizeMismatch_EfaultAndReservedEinval()
    {
        await using var server = SocketServer.Start();
        using var dom0 = server.Connect(0);
        var head = new byte[MemoryRequest.Size];
        new MemoryRequest(server.Host.Dom0FirstGfn() << 12, 16, 0).Write(head);
        Assert.Equal(XenErrno.EFAULT.ToReturnValue(), dom0.Exchange(FrameKind.MemoryWrite, 0, head, new byte[15]).Ret);
        Assert.Equal(XenErrno.EFAULT.ToReturnValue(), dom0.Exchange(FrameKind.MemoryRead, 0, head, new byte[1]).Ret);
        Assert.Equal(XenErrno.EFAULT.ToReturnValue(), dom0.Exchange(FrameKind.MemoryRead, 0, head.AsSpan(0, 15), default).Ret);
        new MemoryRequest(server.Host.Dom0FirstGfn() << 12, 16, 1).Write(head);
        Assert.Equal(XenErrno.EINVAL.ToReturnValue(), dom0.Exchange(FrameKind.MemoryRead, 0, head, default).Ret);
        new MemoryRequest(server.Host.Dom0FirstGfn() << 12, WireFormat.MaxResponsePayload + 1, 0).Write(head);
        Assert.Equal(XenErrno.EINVAL.ToReturnValue(), dom0.Exchange(FrameKind.MemoryRead, 0, head, default).Ret);
    }

    [Fact]
    public async Task Dma_ThroughAGuestContext_ReadsAndWritesTheMappedBuffer()
    {
        await using var server = SocketServer.Start();
        using var dom0 = server.Connect(0);
        var ctx = InitAndAttach(dom0, _nic);
        var gfn = server.Host.Dom0FirstGfn() + 100;
        var data = Enumerable.Range(0, 4096).Select(i => (byte)(i ^ 0x5A)).ToArray();
        Assert.Equal(0, dom0.WriteMemory(gfn << 12, data));
        Assert.Equal(0, Map(dom0, ctx, gfn, 0x40, 1, MapFlags.Readable | MapFlags.Writeable));

        var read = new byte[4096];
        Assert.Equal(new DmaOutcome(0, null), dom0.Dma(_nic, false, 0x40 << 12, read));
        Assert.Equal(data, read);

        var written = Enumerable.Repeat((byte)0xC3, 100).ToArray();
        Assert.Equal(0, dom0.Dma(_nic, true, (0x40 << 12) + 50, written).Ret);
        var back = new byte[100];
        Assert.Equal(0, dom0.ReadMemory((gfn << 12) + 50, back));
        Assert.Equal(written, back);
        Cleanup(dom0, ctx, _nic);
        server.AssertNoLeaks();
    }

    [Fact]
    public async Task Dma_Fault_EioWithAddressReasonAndZeroReserved_RecordedInTheUnitsLog()
    {
        await using var server = SocketServer.Start();
        using var dom0 = server.Connect(0);
        var ctx = InitAndAttach(dom0, _nic);
        var before = server.Host.Machine.Units[0].Faults.Detected;
        var head = new byte[DmaRequest.Size];
        new DmaRequest(_nic.Seg, _nic.Bus, _nic.DevFn, DmaFlags.None, 0x77123, 64, 0).Write(head);
        var response = dom0.Exchange(FrameKind.DeviceDma, 0, head, default);
        Assert.Equal(XenErrno.EIO.ToReturnValue(), response.Ret);
        Assert.Equal(DmaFault.Size, response.Payload.Length);
        Assert.Equal(new DmaFault(0x77123, (uint)FaultReason.NotMapped), DmaFault.Read(response.Payload));
        Assert.Equal(0u, System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(response.Payload[12..]));
        Assert.Equal(before + 1, server.Host.Machine.Units[0].Faults.Detected);
        Cleanup(dom0, ctx, _nic);
    }

    [Fact]
    public async Task Dma_WriteFault_WritesNothing()
    {
        await using var server = SocketServer.Start();
        using var dom0 = server.Connect(0);
        var ctx = InitAndAttach(dom0, _nic);
        var gfn = server.Host.Dom0FirstGfn() + 10;
        Assert.Equal(0, Map(dom0, ctx, gfn, 0x40, 1, MapFlags.Readable));
        var outcome = dom0.Dma(_nic, true, 0x40 << 12, Enumerable.Repeat((byte)1, 4096).ToArray());
        Assert.Equal((uint)FaultReason.WriteNotPermitted, outcome.Fault!.Value.Reason);
        var back = new byte[4096];
        Assert.Equal(0, dom0.ReadMemory(gfn << 12, back));
        Assert.All(back, b => Assert.Equal(0, b));
        Cleanup(dom0, ctx, _nic);
    }

    [Fact]
    public async Task Dma_MalformedRequests_EfaultOrEinval()
    {
        await using var server = SocketServer.Start();
        using var dom0 = server.Connect(0);
        var head = new byte[DmaRequest.Size];
        new DmaRequest(_nic.Seg, _nic.Bus, _nic.DevFn, DmaFlags.DeviceWrites, 0, 8, 0).Write(head);
        Assert.Equal(XenErrno.EFAULT.ToReturnValue(), dom0.Exchange(FrameKind.DeviceDma, 0, head, new byte[7]).Ret);
        Assert.Equal(XenErrno.EFAULT.ToReturnValue(), dom0.Exchange(FrameKind.DeviceDma, 0, head.AsSpan(0, 20), default).Ret);
        new DmaRequest(_nic.Seg, _nic.Bus, _nic.DevFn, DmaFlags.None, 0, 8, 0).Write(head);
        Assert.Equal(XenErrno.EFAULT.ToReturnValue(), dom0.Exchange(FrameKind.DeviceDma, 0, head, new byte[8]).Ret);
        new DmaRequest(_nic.Seg, _nic.Bus, _nic.DevFn, (DmaFlags)2, 0, 8, 0).Write(head);
        Assert.Equal(XenErrno.EINVAL.ToReturnValue(), dom0.Exchange(FrameKind.DeviceDma, 0, head, default).Ret);
        new DmaRequest(_nic.Seg, _nic.Bus, _nic.DevFn, DmaFlags.None, 0, 8, 9).Write(head);
        Assert.Equal(XenErrno.EINVAL.ToReturnValue(), dom0.Exchange(FrameKind.DeviceDma, 0, head, default).Ret);
    }

    [Fact]
    public async Task Dma_DeviceNotTheDomains_EpermAndMissingDeviceForDom0_Enodev()
    {
        await using var server = SocketServer.Start();
        using var domU = server.Connect(1);
        using var dom0 = server.Connect(0);
        Assert.Equal(XenErrno.EPERM.ToReturnValue(), domU.Dma(_nic, false, 0, new byte[8]).Ret);
        Assert.Equal(XenErrno.EPERM.ToReturnValue(), domU.Dma(new PciDevice { Bus = 9 }, false, 0, new byte[8]).Ret);
        Assert.Equal(XenErrno.ENODEV.ToReturnValue(), dom0.Dma(new PciDevice { Bus = 9 }, false, 0, new byte[8]).Ret);

        // The DomU's own NIC, in its context 0 (dfn = gfn), reaches its memory.
        var domUNic = Frames.Pci(DefaultHost.DomUNic);
        Assert.Equal(0, domU.Dma(domUNic, true, 0x5000, [1, 2, 3]).Ret);
        var back = new byte[3];
        Assert.Equal(0, domU.ReadMemory(0x5000, back));
        Assert.Equal([1, 2, 3], back);
    }

    [Fact]
    public async Task Dma_PhantomFunction_TranslatedAsItsDevice()
    {
        await using var server = SocketServer.Start();
        using var dom0 = server.Connect(0);
        var phantom = Frames.Pci(DefaultHost.Nvme.WithFunction(1));
        var ram = server.Host.Dom0FirstGfn() << 12;
        Assert.Equal(0, dom0.Dma(phantom, false, ram, new byte[8]).Ret);
    }

    internal static ushort InitAndAttach(WireClient dom0, PciDevice device)
    {
        var init = new byte[Init.Size];
        new Init { MaxCtxNo = 8, ArenaOrder = 10 }.Write(init);
        Assert.Equal(0, dom0.IommuOp((uint)SubOp.Init, init));
        var alloc = new byte[Alloc.Size];
        Assert.Equal(0, dom0.IommuOp((uint)SubOp.AllocContext, alloc));
        var ctx = Alloc.Read(alloc).CtxNo;
        var reattach = new byte[ReattachDevice.Size];
        new ReattachDevice { CtxNo = ctx, Dev = device }.Write(reattach);
        Assert.Equal(0, dom0.IommuOp((uint)SubOp.ReattachDevice, reattach));
        return ctx;
    }

    internal static int Map(WireClient client, ushort ctx, ulong gfn, ulong dfn, uint pages, MapFlags flags)
    {
        var map = new byte[MapPages.Size];
        new MapPages { CtxNo = ctx, Gfn = gfn, Dfn = dfn, NrPages = pages, MapFlags = flags, Pgsize = PageSizes.Size4K }.Write(map);
        return client.IommuOp((uint)SubOp.MapPages, map);
    }

    internal static void Cleanup(WireClient dom0, ushort ctx, PciDevice device)
    {
        var free = new byte[Free.Size];
        new Free { CtxNo = ctx, FreeFlags = FreeFlags.ReattachDefault }.Write(free);
        Assert.Equal(0, dom0.IommuOp((uint)SubOp.FreeContext, free));
    }
}
