using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Guest.Hypercalls;

namespace PvIommu.Guest.Tests;

/// <summary>Multicall entries given back are reused: cleared, re-encoded, with no result left over.</summary>
public sealed class IommuOpsEntryTests
{
    private readonly IommuOps _ops = new(new ScribblingChannel(), new DriverStats());

    [Fact]
    public void Entry_AfterRecycle_ReusesTheEntryWithOnlyTheNewArgument()
    {
        var first = _ops.Entry(SubOp.MapPages, new MapPages { CtxNo = 1, Gfn = 0x10, Dfn = 0x20, NrPages = 3, Pgsize = PageSizes.Size4K });
        _ops.Multicall([first]);
        Assert.Equal(-5, first.Result);
        _ops.Recycle([first]);

        var next = new MapPages { CtxNo = 2, Gfn = 0x30, Dfn = 0x40, NrPages = 1, Pgsize = PageSizes.Size4K };
        var second = _ops.Entry(SubOp.MapPages, next);

        Assert.Same(first, second);
        Assert.Equal(0, second.Result);
        var expected = new byte[MapPages.Size];
        next.Write(expected);
        Assert.Equal(expected, second.Argument);
    }

    [Fact]
    public void Entry_OfAnotherSubOp_IsNeverARecycledOne()
    {
        var map = _ops.Entry(SubOp.MapPages, new MapPages { CtxNo = 1, NrPages = 1, Pgsize = PageSizes.Size4K });
        _ops.Recycle([map]);

        var unmap = _ops.Entry(SubOp.UnmapPages, new UnmapPages { CtxNo = 1, NrPages = 1, Pgsize = PageSizes.Size4K });

        Assert.NotSame(map, unmap);
        Assert.Equal((uint)SubOp.UnmapPages, unmap.SubOp);
        Assert.Equal(UnmapPages.Size, unmap.Argument.Length);
    }

    [Fact]
    public void Entry_NotRecycled_IsNeverHandedOutAgain()
    {
        var held = _ops.Entry(SubOp.FlushPages, new FlushPages { CtxNo = 1, NrPages = 1, Pgsize = PageSizes.Size4K });

        var other = _ops.Entry(SubOp.FlushPages, new FlushPages { CtxNo = 1, NrPages = 2, Pgsize = PageSizes.Size4K });

        Assert.NotSame(held, other);
        Assert.Equal(1u, FlushPages.Read(held.Argument).NrPages);
    }

    /// <summary>Writes 0xFF over every argument and fails every entry with -5, so leftovers show.</summary>
    private sealed class ScribblingChannel : IHypercallChannel
    {
        public int IommuOp(uint subOp, Span<byte> argument)
        {
            argument.Fill(0xFF);
            return -5;
        }

        public void Multicall(IReadOnlyList<IommuOpCall> calls)
        {
            foreach (var call in calls)
            {
                call.Result = IommuOp(call.SubOp, call.Argument);
            }
        }
    }
}
