using PvIommu.Devices.Drivers;
using PvIommu.Simulation.Build;
using DmaDevice = PvIommu.Guest.Dma.DmaDevice;
using DmaDirection = PvIommu.Devices.Drivers.DmaDirection;
using GuestDirection = PvIommu.Guest.Dma.DmaDirection;

namespace PvIommu.Simulation.Running;

/// <summary>
/// Binds a Devices-layer driver (NIC, NVMe) to a guest kernel: pages from the domain's RAM
/// (addressed by guest-physical byte address), CPU access through the p2m, and the Guest
/// layer's DMA API for mapping. Every map and unmap is metered, so the workload can charge
/// the hypercalls, invalidations and PTE writes to the operation that caused them.
/// </summary>
internal sealed class GuestDriverEnvironment(SimContext context, GuestKernel kernel, DmaDevice dma) : IDriverEnvironment
{
    /// <summary>Frame lists up to this long live on the stack (a page pool's refill batch fits).</summary>
    private const int StackFrames = 256;

    private readonly GuestMemory _memory = kernel.Memory;

    /// <summary>Control-path cost of every map and unmap so far.</summary>
    public CallCost Spent { get; private set; }

    /// <summary>Maps and unmaps refused by the DMA API.</summary>
    public long Failures { get; private set; }

    public DmaDevice Dma => dma;

    public bool TryAllocatePage(out ulong page)
    {
        try
        {
            page = _memory.AllocatePage() << 12;
            return true;
        }
        catch (SimulationException)
        {
            page = 0;
            return false;
        }
    }

    public void FreePage(ulong page) => _memory.FreePage(page >> 12);

    public void Read(ulong address, Span<byte> destination) => _memory.Read(address >> 12, (int)(address & 0xFFF), destination);

    public void Write(ulong address, ReadOnlySpan<byte> source) => _memory.Write(address >> 12, (int)(address & 0xFFF), source);

    public bool TryMap(ReadOnlySpan<ulong> pages, DmaDirection direction, out ulong iova)
    {
        Span<ulong> gfns = pages.Length <= StackFrames ? stackalloc ulong[pages.Length] : new ulong[pages.Length];
        ToFrames(pages, gfns);
        var before = context.Meter.Calls(kernel.Driver);
        var ret = dma.MapPages(0, gfns, 0, (ulong)pages.Length << 12, Convert(direction), out iova);
        Account(before, ret);
        return ret == 0;
    }

    public bool TryMapEach(ReadOnlySpan<ulong> pages, DmaDirection direction, Span<ulong> iovas)
    {
        Span<ulong> gfns = pages.Length <= StackFrames ? stackalloc ulong[pages.Length] : new ulong[pages.Length];
        ToFrames(pages, gfns);
        var before = context.Meter.Calls(kernel.Driver);
        var ret = dma.MapEach(0, gfns, Convert(direction), iovas);
        Account(before, ret);
        return ret == 0;
    }

    public void Unmap(ulong iova, int pages, DmaDirection direction)
    {
        var before = context.Meter.Calls(kernel.Driver);
        var ret = dma.Unmap(0, iova, (ulong)pages << 12);
        Account(before, ret);
    }

    /// <summary>Charges what a call cost since <paramref name="before"/> and counts it when it failed.</summary>
    private void Account(CallCost before, int ret)
    {
        Spent += context.Meter.Calls(kernel.Driver) - before;
        Failures += ret != 0 ? 1 : 0;
    }

    /// <summary>Guest frames of page addresses.</summary>
    private static void ToFrames(ReadOnlySpan<ulong> pages, Span<ulong> gfns)
    {
        for (var i = 0; i < pages.Length; i++)
        {
            gfns[i] = pages[i] >> 12;
        }
    }

    private static GuestDirection Convert(DmaDirection direction) => direction switch
    {
        DmaDirection.ToDevice => GuestDirection.ToDevice,
        DmaDirection.FromDevice => GuestDirection.FromDevice,
        _ => GuestDirection.Bidirectional,
    };
}
