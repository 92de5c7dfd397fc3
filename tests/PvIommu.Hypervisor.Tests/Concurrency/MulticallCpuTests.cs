using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Hypervisor.Domains;
using PvIommu.Hypervisor.Tests.Model;
using PvIommu.Hypervisor.Tests.Spec;
using PvIommu.Hypervisor.Tests.Support;

namespace PvIommu.Hypervisor.Tests.Concurrency;

/// <summary>
/// Spec §4.1 with §4 on one physical CPU: a multicall holds its CPU from one entry to the next,
/// and a vCPU that waits for the CPU runs between two entries. The batch is not split into
/// separate calls, and no other call waits for the whole batch.
/// </summary>
public class MulticallCpuTests
{
    private const int Entries = 4096;

    [Fact]
    public async Task Multicall_OneCpu_AWaitingCallRunsBetweenEntries()
    {
        var host = SmallHost.Create(options: new HostOptions { PhysicalCpus = 1 });
        Assert.True(host.SetPvIommu(1, PvIommuPolicy.On).IsOk);
        var dom0 = host.Dom0();
        var domU = host.DomU();
        var ctx = dom0.InitAndAlloc();
        Assert.Equal(0, domU.Init(4, 4));
        var small = domU.Alloc().Ctx;
        var calls = Enumerable.Range(0, Entries)
            .Select(i => Hosts.Entry(SubOp.MapPages, new MapPages { CtxNo = ctx, Gfn = dom0.FirstRamGfn + (ulong)(i % 512), Dfn = 0x1000 + (ulong)i, NrPages = 1, MapFlags = Guest.RW, Pgsize = PageSizes.Size4K }))
            .ToArray();
        var before = host.Counters;

        // The batch queues first, the DomU's map second. When the map returns, the batch must
        // still have entries to run (it takes milliseconds).
        var (batch, smallMap) = OneCpu.LineUp(
            host,
            () =>
            {
                dom0.Channel.Multicall(calls);
                return 0;
            },
            _ =>
            {
                Assert.Equal(0, domU.Map(small, 0, 0x100, 1).Ret);
                return host.Counters.Hypercalls - before.Hypercalls - 1;
            });
        await Task.WhenAll(batch, smallMap).WaitAsync(TimeSpan.FromMinutes(2));
        var entriesRunBeforeTheMapEnded = await smallMap;

        Assert.True(entriesRunBeforeTheMapEnded < Entries / 2, $"the DomU's map ended after {entriesRunBeforeTheMapEnded} of the batch's {Entries} entries");
        Assert.All(calls, c => Assert.Equal(0, c.Result));
        Assert.Equal(Entries, dom0.Ctx(ctx).MappedFrames);
        Assert.Equal(before.Multicalls + 1, host.Counters.Multicalls);
        Assert.Equal(0, host.Cpus.Waiting);
        Assert.Equal(0, domU.Unmap(small, 0x100, 1).Ret);
        Assert.Equal(0, domU.Free(small));
        Assert.Equal(Entries, (int)dom0.Unmap(ctx, 0x1000, Entries).Out.Unmapped);
        host.AssertNoLeaks();
    }

}
