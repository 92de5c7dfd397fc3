using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Hypervisor.Tests.Support;
using PvIommu.Hypervisor.Toolstack;
using static PvIommu.Hypervisor.Tests.Support.Hosts;

namespace PvIommu.Hypervisor.Tests.Spec;

/// <summary>Spec §3 init (2) and the init rows of §6.</summary>
public class InitTests
{
    [Fact]
    public void Init_FirstCall_SetsLimitsAndReservesArenaFromHeap()
    {
        // §3 init: sets the limits; the arena is 2^order pages reserved whole out of the hypervisor's free memory.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var heap = host.Heap.FreeFrames;
        var ram = dom0.Domain.P2m.RamFrames;
        Assert.Equal(0, dom0.Init(9, 5));
        Assert.Equal(9, dom0.Query().Caps.MaxCtxNo);
        var arena = dom0.Domain.Iommu.Arena!;
        Assert.Equal(32, arena.Capacity);
        Assert.Equal(0, arena.InUse);
        Assert.Equal(heap - 32, host.Heap.FreeFrames);
        Assert.Equal(ram, dom0.Domain.P2m.RamFrames);
        host.AssertNoLeaks();
    }

    [Fact]
    public void Init_DoesNotAllocateAContext()
    {
        // §6 row 1: upstream falls through into alloc_context; here init only initialises and writes nothing back.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        var bytes = new byte[Init.Size];
        new Init { MaxCtxNo = 4, ArenaOrder = 4 }.Write(bytes);
        var sent = bytes.ToArray();
        Assert.Equal(0, dom0.Channel.IommuOp((uint)SubOp.Init, bytes));
        Assert.Equal(sent, bytes);
        Assert.Empty(dom0.Domain.Iommu.GuestContexts);
        Assert.Equal(0, dom0.Domain.Iommu.Arena!.InUse);
        Assert.Equal((0, (ushort)1), dom0.Alloc());
        host.AssertNoLeaks();
    }

    [Fact]
    public void Init_Twice_ReturnsEACCES_NothingChanges()
    {
        // §3 init: one-shot; already initialised -EACCES (§6: upstream's fall-through would allocate instead).
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        Assert.Equal(0, dom0.Init(4, 3));
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.EACCES), dom0.Init(4, 3)));
        Assert.Equal(4, dom0.Query().Caps.MaxCtxNo);
        host.AssertNoLeaks();
    }

    [Fact]
    public void Init_AlreadyInitialisedAndOutOfRange_ReturnsEACCES()
    {
        // §3 init, ordering choice (docs/conformance.md): the one-shot check comes before the range checks.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        Assert.Equal(0, dom0.Init(4, 3));
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.EACCES), dom0.Init(0, 99)));
        host.AssertNoLeaks();
    }

    [Theory]
    [InlineData(0u, 4u)]
    [InlineData(65535u, 4u)]
    [InlineData(65536u, 4u)]
    [InlineData(0xFFFFFFFFu, 4u)]
    [InlineData(4u, 21u)]
    [InlineData(4u, 0xFFFFFFFFu)]
    public void Init_OutOfRange_ReturnsE2BIG_NothingChanges_Retryable(uint max, uint order)
    {
        // §3 init: 1 ≤ max_ctx_no ≤ 65534 and 0 ≤ arena_order ≤ 20, else -E2BIG; a failed init may be retried (§6 rows 2 and 4).
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.E2BIG), dom0.Init(max, order)));
        Assert.False(dom0.Domain.Iommu.IsInitialised);
        Assert.Equal(0, dom0.Query().Caps.MaxCtxNo);
        Assert.Equal(0, dom0.Init(2, 2));
        host.AssertNoLeaks();
    }

    [Theory]
    [InlineData(1u, 0u)]
    [InlineData(65534u, 0u)]
    [InlineData(1u, 12u)]
    public void Init_Boundaries_Succeed(uint max, uint order)
    {
        // §3 init: the ends of both ranges are valid.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        Assert.Equal(0, dom0.Init(max, order));
        Assert.Equal(max, dom0.Query().Caps.MaxCtxNo);
        Assert.Equal(1 << (int)order, dom0.Domain.Iommu.Arena!.Capacity);
        host.AssertNoLeaks();
    }

    [Fact]
    public void Init_ArenaOrderZero_IsAOnePageArena()
    {
        // §3 init and §6 row 3: order 0 gives a one-page arena (upstream hits a BUG on the first table).
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        Assert.Equal(0, dom0.Init(2, 0));
        Assert.Equal(1, dom0.Domain.Iommu.Arena!.Capacity);
        Assert.Equal((0, (ushort)1), dom0.Alloc());
        Assert.Equal(1, dom0.Domain.Iommu.Arena.InUse);
        Assert.Equal(0, dom0.Free(1));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Init_HeapRefusesArena_ReturnsENOMEM_NothingChanges_Retryable()
    {
        // §3 init: the host cannot supply the arena → -ENOMEM; §6 row 4: a failed init does not burn the one-shot flag.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        host.Heap.Faults.FailNth(1);
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.ENOMEM), dom0.Init(4, 4)));
        Assert.False(dom0.Domain.Iommu.IsInitialised);
        Assert.Null(dom0.Domain.Iommu.Arena);
        Assert.Equal(0, dom0.Init(4, 4));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Init_ArenaLargerThanFreeHeap_ReturnsENOMEM()
    {
        // §3 init: order 20 (4 GiB) cannot come out of what is left of the default host's heap.
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        Assert.True(host.Heap.FreeFrames < 1UL << 20);
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.ENOMEM), dom0.Init(4, 20)));
        Assert.Equal(0, dom0.Init(4, 4));
        host.AssertNoLeaks();
    }

    [Fact]
    public void Init_AfterInit_NoOperationTakesHypervisorMemory()
    {
        // §3 init: "after init, no PV-IOMMU operation of this domain can take hypervisor memory beyond it".
        var host = Hosts.Default();
        var dom0 = host.Dom0();
        Assert.Equal(0, dom0.Init(8, 10));
        var heap = host.Heap.FreeFrames;
        var ctx = dom0.Alloc().Ctx;
        var identity = dom0.Alloc(AllocFlags.Identity).Ctx;
        Assert.Equal(0, dom0.Reattach(ctx, DefaultHost.Gpu));
        dom0.MapOk(ctx, dom0.FirstRamGfn, 0x100000, 4096);
        dom0.MapOk(ctx, dom0.FirstRamGfn + 1, 0x300001, 1000);
        Assert.Equal(0, dom0.Unmap(ctx, 0x100005, 7).Ret);
        Assert.Equal(0, dom0.Free(ctx, FreeFlags.ReattachDefault));
        Assert.Equal(0, dom0.Free(identity));
        Assert.Equal(heap, host.Heap.FreeFrames);
        host.AssertNoLeaks();
    }

    [Fact]
    public void Init_ThroughRemoteCmd_ImposesLimitsTheGuestCannotChange()
    {
        // §3 init: the toolstack calls init through remote_cmd, so the guest cannot pick its own limits.
        var host = Hosts.Default();
        var domU = host.DomUOn();
        Assert.Equal(0, host.Dom0().Remote(1, SubOp.Init, new Init { MaxCtxNo = 1, ArenaOrder = 2 }).Ret);
        HostState.AssertUnchangedBy(host, () => Assert.Equal(Err(XenErrno.EACCES), domU.Init(1000, 12)));
        Assert.Equal(1, domU.Query().Caps.MaxCtxNo);
        Assert.Equal(4, domU.Domain.Iommu.Arena!.Capacity);
        host.AssertNoLeaks();
    }
}
