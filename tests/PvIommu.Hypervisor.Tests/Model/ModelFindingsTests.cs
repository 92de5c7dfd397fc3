using PvIommu.Abi;
using PvIommu.Hypervisor.Domains;
using PvIommu.Hypervisor.Tests.Support;
using PvIommu.Hypervisor.Toolstack;
using PvIommu.Platform.Iommu;

namespace PvIommu.Hypervisor.Tests.Model;

/// <summary>
/// The smallest sequences that show what the reference model found, one test per finding, so a
/// failure names the rule broken without replaying a random sequence.
/// </summary>
public class ModelFindingsTests
{
    /// <summary>
    /// Spec §3 alloc_context (identity contexts stay in sync with the domain's memory) and §5
    /// (context 0 maps the domain's RAM): a balloon-out that fails must leave the gfn mapped in
    /// every mirror. Here context 0's split succeeds (its pool has room) and the identity
    /// context's split finds the arena full.
    /// </summary>
    [Fact]
    public void BalloonOut_SplitRefusedInIdentityContext_LeavesEveryMirrorAsItWas()
    {
        var host = Hosts.Default();
        var domU = host.DomU();
        Assert.True(host.SetPvIommu(1, PvIommuPolicy.On).IsOk);
        Assert.Equal(0, domU.Init(order: 2));
        var (ret, ctx) = domU.Alloc(AllocFlags.Identity);
        Assert.Equal(0, ret);

        // Root, one L3 and one L2 table hold the 2 MiB leaves: one arena page is left. The first
        // balloon-out splits a 2 MiB leaf and takes it.
        Assert.True(host.BalloonOut(1, [5], out _).IsOk);
        Assert.Equal(4, host.GetDomain(1).Iommu.Arena!.InUse);

        var result = host.BalloonOut(1, [0x205], out var released);

        Assert.Equal(XenErrno.ENOMEM, result.Error);
        Assert.Equal(0, released);
        Assert.True(host.GetDomain(1).P2m.Lookup(0x205).IsValid, "the gfn stays RAM of the domain");
        Assert.Equal(0, domU.Lookup(ctx, 0x205).Ret);
        var mfn = host.GetDomain(1).P2m.Lookup(0x205).Mfn;
        var dma = host.Machine.Translate(DefaultHost.DomUNic, 0x205UL << 12, DmaAccess.Write);
        Assert.True(dma.IsOk && dma.Mfn == mfn, $"the NIC in context 0 must still reach gfn 0x205 (mfn {mfn}): {dma.Reason}");
        host.AssertNoLeaks();
    }

    /// <summary>
    /// Spec §3 unmap_pages: only unmapping part of a superpage needs an arena page. A guest that
    /// mapped 512 4 KiB pages (which became one 2 MiB leaf, spec §3 map_pages) and unmaps the
    /// same 512 pages covers the leaf whole: with a full arena that must still succeed.
    /// </summary>
    [Fact]
    public void UnmapPages_WholeSuperpageIn4KPages_FullArena_Succeeds()
    {
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        Assert.Equal(0, dom0.Init(order: 2));
        var (ret, ctx) = dom0.Alloc();
        Assert.Equal(0, ret);
        var gfn = (dom0.FirstRamGfn + 511) & ~511UL;

        // Root + L3 + L2 for the 2 MiB leaf, then an L1 table for one 4 KiB page: 4 of 4 pages.
        Assert.Equal(0, dom0.Map(ctx, gfn, 0x200, 512).Ret);
        Assert.Equal((uint)PageSizes.Size2M, dom0.Lookup(ctx, 0x200).Out.Pgsize);
        Assert.Equal(0, dom0.Map(ctx, gfn + 1024, 0x400, 1).Ret);
        Assert.Equal(0, host.GetDomain(0).Iommu.Arena!.Free);

        var (uret, unmap) = dom0.Unmap(ctx, 0x200, 512);

        Assert.Equal(0, uret);
        Assert.Equal(512u, unmap.Unmapped);
        Assert.Equal(Hosts.Err(XenErrno.ENOENT), dom0.Lookup(ctx, 0x300).Ret);
        host.AssertNoLeaks();
    }

    /// <summary>
    /// TryNextMapped promises the first mapped frame at or after its argument: past the last
    /// dfn there is none. It wraps to dfn 0 instead, and Host.Audit, which walks a context with
    /// it from each leaf's end, never returns once a guest maps the last dfn (which spec §3
    /// allows: everything up to max_iova_addr).
    /// </summary>
    [Fact]
    public void TryNextMapped_PastTheLastDfn_FindsNothing()
    {
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        Assert.Equal(0, dom0.Init());
        var (_, ctx) = dom0.Alloc();
        var last = host.MaxIovaAddress >> 12;
        Assert.Equal(0, dom0.Map(ctx, dom0.FirstRamGfn, 0x10, 1).Ret);
        Assert.Equal(0, dom0.Map(ctx, dom0.FirstRamGfn + 1, last, 1).Ret);
        var table = host.GetDomain(0).Iommu.Context(ctx)!.Table;

        Assert.True(table.TryNextMapped(last, out var found, out _));
        Assert.Equal(last, found);
        Assert.False(table.TryNextMapped(last + 1, out var wrapped, out _), $"past the last dfn it found dfn {wrapped:x}");
    }
}
