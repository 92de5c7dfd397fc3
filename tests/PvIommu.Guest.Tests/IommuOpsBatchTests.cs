using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Guest.Hypercalls;

namespace PvIommu.Guest.Tests;

/// <summary>Multicall batches given back are reused: emptied, re-encoded, with no result left over.</summary>
public sealed class IommuOpsBatchTests
{
    private readonly DriverStats _stats = new();
    private readonly IommuOps _ops;

    public IommuOpsBatchTests() => _ops = new IommuOps(new ScribblingChannel(), _stats);

    [Fact]
    public void Rent_AfterReturn_ReusesTheBatchWithOnlyTheNewEntries()
    {
        var first = _ops.Rent();
        IommuOps.Add(first, SubOp.MapPages, new MapPages { CtxNo = 1, Gfn = 0x10, Dfn = 0x20, NrPages = 3, Pgsize = PageSizes.Size4K });
        IommuOps.Add(first, SubOp.MapPages, new MapPages { CtxNo = 1, Gfn = 0x11, Dfn = 0x21, NrPages = 1, Pgsize = PageSizes.Size4K });
        _ops.Multicall(first);
        Assert.Equal(-5, first.ResultAt(1));
        _ops.Return(first);

        var next = new MapPages { CtxNo = 2, Gfn = 0x30, Dfn = 0x40, NrPages = 1, Pgsize = PageSizes.Size4K };
        var second = _ops.Rent();
        var index = IommuOps.Add(second, SubOp.MapPages, next);

        Assert.Same(first, second);
        Assert.Equal((0, 1, 0), (index, second.Count, second.ResultAt(0)));
        var expected = new byte[MapPages.Size];
        next.Write(expected);
        Assert.Equal(expected, second.ArgumentAt(0).ToArray());
    }

    [Fact]
    public void Rent_WhileAnotherIsHeld_IsANewBatch()
    {
        var held = _ops.Rent();
        IommuOps.Add(held, SubOp.FlushPages, new FlushPages { CtxNo = 1, NrPages = 1, Pgsize = PageSizes.Size4K });

        var other = _ops.Rent();

        Assert.NotSame(held, other);
        Assert.Equal(0, other.Count);
        Assert.Equal(1u, FlushPages.Read(held.ArgumentAt(0)).NrPages);
    }

    [Fact]
    public void Issue_OneEntry_IsOneCallAndManyAreOneMulticall()
    {
        var one = _ops.Rent();
        IommuOps.Add(one, SubOp.UnmapPages, new UnmapPages { CtxNo = 1, NrPages = 1, Pgsize = PageSizes.Size4K });
        _ops.Issue(one);
        Assert.Equal((1L, 0L, 1L, 1L), (_stats.Traps, _stats.Multicalls, _stats.IommuOps, _stats.FailedOps));

        var many = _ops.Rent();
        for (var i = 0; i < 3; i++)
        {
            IommuOps.Add(many, SubOp.UnmapPages, new UnmapPages { CtxNo = 1, Dfn = (ulong)i, NrPages = 1, Pgsize = PageSizes.Size4K });
        }

        _ops.Issue(many);

        Assert.Equal((2L, 1L, 4L, 4L, 4L), (_stats.Traps, _stats.Multicalls, _stats.IommuOps, _stats.FailedOps, _stats.UnmapCalls));
        Assert.All(Enumerable.Range(0, 3), i => Assert.Equal(-5, many.ResultAt(i)));
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
