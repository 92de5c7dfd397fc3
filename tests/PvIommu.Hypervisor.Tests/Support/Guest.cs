using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Hypervisor.Calls;
using PvIommu.Hypervisor.Domains;
using PvIommu.Platform.Pci;

namespace PvIommu.Hypervisor.Tests.Support;

/// <summary>A domain's vCPU making typed iommu_op calls through the in-process channel, as ABI bytes.</summary>
internal sealed class Guest(Host host, Domain domain)
{
    public const MapFlags RW = MapFlags.Readable | MapFlags.Writeable;

    public IHypercallChannel Channel { get; } = new InProcessChannel(host, domain);

    public Domain Domain { get; } = domain;

    public Host Host { get; } = host;

    /// <summary>Encodes <paramref name="arg"/>, calls, decodes what came back.</summary>
    public (int Ret, T Out) Call<T>(SubOp op, T arg)
        where T : struct, IAbiStruct<T>
    {
        var bytes = new byte[SubOps.ArgumentSize(op)];
        arg.Write(bytes);
        var ret = Channel.IommuOp((uint)op, bytes);
        return (ret, T.Read(bytes));
    }

    public int Noop() => Channel.IommuOp((uint)SubOp.Noop, []);

    public (int Ret, Capabilities Caps) Query() => Call(SubOp.QueryCapabilities, new Capabilities());

    public int Init(uint maxCtx = 128, uint order = 12) => Call(SubOp.Init, new Init { MaxCtxNo = maxCtx, ArenaOrder = order }).Ret;

    public (int Ret, ushort Ctx) Alloc(AllocFlags flags = 0)
    {
        var (ret, o) = Call(SubOp.AllocContext, new Alloc { AllocFlags = flags });
        return (ret, o.CtxNo);
    }

    public int Free(ushort ctx, FreeFlags flags = 0) => Call(SubOp.FreeContext, new Free { CtxNo = ctx, FreeFlags = flags }).Ret;

    public int Reattach(ushort ctx, Sbdf device, uint pasid = 0) =>
        Call(SubOp.ReattachDevice, new ReattachDevice { CtxNo = ctx, Dev = Dev(device), Pasid = pasid }).Ret;

    public (int Ret, MapPages Out) Map(ushort ctx, ulong gfn, ulong dfn, uint pages, MapFlags flags = RW, uint pgsize = PageSizes.Size4K) =>
        Call(SubOp.MapPages, new MapPages { CtxNo = ctx, Gfn = gfn, Dfn = dfn, NrPages = pages, MapFlags = flags, Pgsize = pgsize });

    public (int Ret, UnmapPages Out) Unmap(ushort ctx, ulong dfn, uint pages, uint pgsize = PageSizes.Size4K) =>
        Call(SubOp.UnmapPages, new UnmapPages { CtxNo = ctx, Dfn = dfn, NrPages = pages, Pgsize = pgsize });

    public int Flush(ushort ctx, ulong dfn, uint pages, uint pgsize = PageSizes.Size4K) =>
        Call(SubOp.FlushPages, new FlushPages { CtxNo = ctx, Dfn = dfn, NrPages = pages, Pgsize = pgsize }).Ret;

    public (int Ret, LookupPage Out) Lookup(ushort ctx, ulong dfn) => Call(SubOp.LookupPage, new LookupPage { CtxNo = ctx, Dfn = dfn });

    /// <summary>remote_cmd: the remote struct followed by the inner struct, as on the wire.</summary>
    public (int Ret, T Inner) Remote<T>(ushort domid, SubOp inner, T arg)
        where T : struct, IAbiStruct<T>
    {
        var bytes = new byte[RemoteCmd.Size + SubOps.ArgumentSize(inner)];
        new RemoteCmd { Domid = domid, Subop = inner }.Write(bytes);
        arg.Write(bytes.AsSpan(RemoteCmd.Size));
        var ret = Channel.IommuOp((uint)SubOp.RemoteCmd, bytes);
        return (ret, T.Read(bytes.AsSpan(RemoteCmd.Size)));
    }

    public static PciDevice Dev(Sbdf sbdf) => new() { Seg = sbdf.Segment, Bus = sbdf.Bus, DevFn = sbdf.DevFn };

    /// <summary>The first gfn of the domain's RAM (PV: its first machine frame).</summary>
    public ulong FirstRamGfn => Domain.P2m.Entries().First(e => P2m.IsRam(e.Entry.Type)).Gfn;
}
