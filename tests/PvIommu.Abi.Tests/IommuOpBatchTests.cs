namespace PvIommu.Abi.Tests;

/// <summary>The packed multicall batch: entries back to back, reused buffers, and the channel's default path.</summary>
public sealed class IommuOpBatchTests
{
    [Fact]
    public void Append_PastTheFirstCapacity_GrowsAndKeepsEveryEntry()
    {
        var batch = new IommuOpBatch(1);
        for (var i = 0; i < 40; i++)
        {
            batch.Add((uint)(i % 3), Enumerable.Repeat((byte)i, 8 + (i % 5)).ToArray());
        }

        Assert.Equal(40, batch.Count);
        for (var i = 0; i < 40; i++)
        {
            Assert.Equal((uint)(i % 3), batch.SubOpAt(i));
            Assert.Equal(Enumerable.Repeat((byte)i, 8 + (i % 5)).ToArray(), batch.ArgumentAt(i).ToArray());
            Assert.Equal(0, batch.ResultAt(i));
        }
    }

    [Fact]
    public void Append_AfterClear_HandsOutZeroedBytesAndNoOldResult()
    {
        var batch = new IommuOpBatch();
        batch.Add(7, [1, 2, 3, 4]);
        batch.SetResult(0, -22);
        batch.Clear();

        var argument = batch.Append(9, 4);

        Assert.Equal(1, batch.Count);
        Assert.Equal(new byte[4], argument.ToArray());
        Assert.Equal((9u, 0), (batch.SubOpAt(0), batch.ResultAt(0)));
    }

    [Fact]
    public void EntryAccess_PastTheCount_IsRefused()
    {
        var batch = new IommuOpBatch();
        batch.Add(1, [0]);
        batch.Clear();
        batch.Add(1, [0]);

        Assert.Throws<ArgumentOutOfRangeException>(() => batch.ResultAt(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => batch.ArgumentAt(-1).Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => batch.SetResult(1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new IommuOpBatch(0));
    }

    [Fact]
    public void ChannelDefault_RunsTheEntryObjectsAndCopiesResultsAndBytesBack()
    {
        IHypercallChannel channel = new ListOnlyChannel();
        var batch = new IommuOpBatch();
        batch.Add(3, [1, 1]);
        batch.Add(4, [2, 2, 2]);

        channel.Multicall(batch);

        Assert.Equal((-3, -4), (batch.ResultAt(0), batch.ResultAt(1)));
        Assert.Equal(new byte[] { 4, 4 }, batch.ArgumentAt(0).ToArray());
        Assert.Equal(new byte[] { 6, 6, 6 }, batch.ArgumentAt(1).ToArray());
    }

    /// <summary>Implements only the entry-object multicall: each entry's bytes grow by its sub-op; its result is minus the sub-op.</summary>
    private sealed class ListOnlyChannel : IHypercallChannel
    {
        public int IommuOp(uint subOp, Span<byte> argument)
        {
            foreach (ref var b in argument)
            {
                b += (byte)subOp;
            }

            return -(int)subOp;
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
