using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Server.Client;

namespace PvIommu.Server.Conformance;

/// <summary>A domain's vCPU making typed iommu_op calls over the wire, as ABI bytes.</summary>
public sealed class Vcpu : IDisposable
{
    /// <summary>Read and write.</summary>
    public const MapFlags RW = MapFlags.Readable | MapFlags.Writeable;

    internal Vcpu(WireClient client) => Client = client;

    /// <summary>The connection.</summary>
    public WireClient Client { get; }

    /// <summary>The domain.</summary>
    public ushort Domid => Client.DomainId;

    /// <summary>Encodes <paramref name="arg"/>, calls <paramref name="op"/>, decodes what came back.</summary>
    public (int Ret, T Out) Call<T>(SubOp op, T arg)
        where T : struct, IAbiStruct<T>
    {
        var bytes = new byte[SubOps.ArgumentSize(op)];
        arg.Write(bytes);
        var ret = Client.IommuOp((uint)op, bytes);
        return (ret, T.Read(bytes));
    }

    /// <summary>Any sub-op with any bytes (wrong sizes, unknown numbers); the bytes are written back.</summary>
    public int Raw(uint subOp, byte[] bytes) => Client.IommuOp(subOp, bytes);

    /// <summary>noop.</summary>
    public int Noop() => Client.IommuOp((uint)SubOp.Noop, []);

    /// <summary>query_capabilities.</summary>
    public (int Ret, Capabilities Caps) Query() => Call(SubOp.QueryCapabilities, new Capabilities());

    /// <summary>init.</summary>
    public int Init(uint maxCtx, uint order) => Call(SubOp.Init, new Init { MaxCtxNo = maxCtx, ArenaOrder = order }).Ret;

    /// <summary>alloc_context.</summary>
    public (int Ret, ushort Ctx) Alloc(AllocFlags flags = AllocFlags.None)
    {
        var (ret, o) = Call(SubOp.AllocContext, new Alloc { AllocFlags = flags });
        return (ret, o.CtxNo);
    }

    /// <summary>free_context.</summary>
    public int Free(ushort ctx, FreeFlags flags = FreeFlags.None) => Call(SubOp.FreeContext, new Free { CtxNo = ctx, FreeFlags = flags }).Ret;

    /// <summary>reattach_device.</summary>
    public int Reattach(ushort ctx, PciDevice device, uint pasid = 0) =>
        Call(SubOp.ReattachDevice, new ReattachDevice { CtxNo = ctx, Dev = device, Pasid = pasid }).Ret;

    /// <summary>map_pages.</summary>
    public (int Ret, MapPages Out) Map(ushort ctx, ulong gfn, ulong dfn, uint pages, MapFlags flags = RW, uint pgsize = PageSizes.Size4K, uint mapped = 0) =>
        Call(SubOp.MapPages, new MapPages { CtxNo = ctx, Gfn = gfn, Dfn = dfn, NrPages = pages, MapFlags = flags, Pgsize = pgsize, Mapped = mapped });

    /// <summary>unmap_pages.</summary>
    public (int Ret, UnmapPages Out) Unmap(ushort ctx, ulong dfn, uint pages, uint pgsize = PageSizes.Size4K) =>
        Call(SubOp.UnmapPages, new UnmapPages { CtxNo = ctx, Dfn = dfn, NrPages = pages, Pgsize = pgsize });

    /// <summary>flush_pages.</summary>
    public int Flush(ushort ctx, ulong dfn, uint pages, uint pgsize = PageSizes.Size4K) =>
        Call(SubOp.FlushPages, new FlushPages { CtxNo = ctx, Dfn = dfn, NrPages = pages, Pgsize = pgsize }).Ret;

    /// <summary>lookup_page.</summary>
    public (int Ret, LookupPage Out) Lookup(ushort ctx, ulong dfn) => Call(SubOp.LookupPage, new LookupPage { CtxNo = ctx, Dfn = dfn });

    /// <summary>remote_cmd: the remote struct followed by the inner struct, as on the wire.</summary>
    public (int Ret, T Inner) Remote<T>(ushort domid, SubOp inner, T arg, int? innerSize = null)
        where T : struct, IAbiStruct<T>
    {
        var size = SubOps.ArgumentSize(inner);
        var bytes = new byte[RemoteCmd.Size + (innerSize ?? size)];
        new RemoteCmd { Domid = domid, Subop = inner }.Write(bytes);
        if (bytes.Length - RemoteCmd.Size >= size)
        {
            arg.Write(bytes.AsSpan(RemoteCmd.Size));
        }

        var ret = Client.IommuOp((uint)SubOp.RemoteCmd, bytes);
        return (ret, bytes.Length - RemoteCmd.Size >= size ? T.Read(bytes.AsSpan(RemoteCmd.Size)) : default);
    }

    /// <summary>A device DMA.</summary>
    public DmaOutcome Dma(PciDevice device, bool deviceWrites, ulong address, Span<byte> data) => Client.Dma(device, deviceWrites, address, data);

    /// <inheritdoc/>
    public void Dispose() => Client.Dispose();
}
