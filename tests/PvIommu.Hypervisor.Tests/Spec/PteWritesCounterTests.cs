using PvIommu.Hypervisor.Tests.Support;

namespace PvIommu.Hypervisor.Tests.Spec;

/// <summary>
/// The host's PTE-write count (<see cref="HostCounters.PteWrites"/>, read around every call by the
/// simulation's cost model): what every context's table wrote, counted as the tables write it.
/// </summary>
public class PteWritesCounterTests
{
    [Fact]
    public void PteWrites_AreEveryContextsTableWrites_MapUnmapAndSplit()
    {
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var a = dom0.InitAndAlloc();
        var (ret, b) = dom0.Alloc();
        Assert.Equal(0, ret);
        var gfn = dom0.FirstRamGfn;
        var start = host.PteWrites;
        long Tables() => dom0.Ctx(a).Table.PteWrites + dom0.Ctx(b).Table.PteWrites;
        var tablesAtStart = Tables();

        // Three leaves and the tables above them in one context, a 2 MiB leaf in the other.
        dom0.MapOk(a, gfn, 0x100, 3);
        dom0.MapOk(b, gfn, 0, 512);
        Assert.Equal(Tables() - tablesAtStart, host.PteWrites - start);
        Assert.True(host.PteWrites - start >= 4, $"{host.PteWrites - start} writes for four leaves");

        // Unmapping part of the 2 MiB leaf splits it (a table of 512 leaves) before clearing one.
        var beforeSplit = host.PteWrites;
        Assert.Equal(1u, dom0.Unmap(b, 5, 1).Out.Unmapped);
        Assert.True(host.PteWrites - beforeSplit >= 512 + 1, $"{host.PteWrites - beforeSplit} writes for a split and a clear");
        Assert.Equal(Tables() - tablesAtStart, host.PteWrites - start);
        Assert.Equal(host.PteWrites, host.Counters.PteWrites);
    }

    [Fact]
    public void PteWrites_OfAFreedContext_StayCounted_WithItsUnmaps()
    {
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var ctx = dom0.InitAndAlloc();
        var start = host.PteWrites;
        dom0.MapOk(ctx, dom0.FirstRamGfn, 0x40, 8);
        var written = host.PteWrites - start;
        Assert.Equal(dom0.Ctx(ctx).Table.PteWrites, written);

        // free_context unmaps the eight leaves (and reclaims the tables above them) before the
        // context goes: the count keeps everything the context's table wrote.
        var table = dom0.Ctx(ctx).Table;
        Assert.Equal(0, dom0.Free(ctx));
        Assert.Null(dom0.Domain.Iommu.Context(ctx));
        Assert.True(table.PteWrites >= written + 8, $"{table.PteWrites} writes after free, {written} before");
        Assert.Equal(start + table.PteWrites, host.PteWrites);
        host.AssertNoLeaks();
    }
}
