using PvIommu.Devices.Drivers;
using PvIommu.Devices.Nvme;
using PvIommu.Devices.Tests.Support;

namespace PvIommu.Devices.Tests.Nvme;

/// <summary>The NVMe controller driven by its reference queue driver: one map per I/O, PRP lists, phases.</summary>
public sealed class NvmeQueueDriverTests
{
    private static readonly int[] _sizes = [4096, 8192, 16384, 32768, 65536, 131072];
    private readonly Bed _bed = new();
    private readonly DirectEnvironment _environment;
    private readonly NvmeController _controller;

    public NvmeQueueDriverTests()
    {
        _environment = new DirectEnvironment(_bed, _bed.Attach(Bed.Nvme));
        _controller = new NvmeController(_bed.Machine, Bed.Nvme, new NvmeOptions { BlockCount = 1 << 16 });
    }

    [Fact]
    public void MixedIo_ManyRoundsAtQueueDepth_EveryReadReturnsWhatWasWritten()
    {
        const int Depth = 8;
        var queue = Create(Depth);
        var model = new byte[(1 << 16) * 512];
        var pending = new Dictionary<ushort, (NvmeOpcode Op, ulong Lba, int Bytes, byte[]? Data)>();
        var random = new Random(1234);
        var reads = 0;
        for (var round = 0; round < 150; round++)
        {
            // Fill the queue with a seeded mix of I/Os that do not overlap one in flight (the
            // controller may run them in any order), let it do part of them, reap.
            while (queue.Outstanding < Depth)
            {
                var bytes = _sizes[random.Next(_sizes.Length)];
                var lba = (ulong)random.Next((model.Length - bytes) / 512);
                if (pending.Values.Any(p => Overlaps(p.Lba, p.Bytes, lba, bytes)))
                {
                    break;
                }

                ushort cid;
                if (random.Next(2) == 0)
                {
                    var data = Bed.Pattern(bytes, (round * 31) + queue.Outstanding);
                    Assert.True(queue.TrySubmitWrite(lba, data, out cid));
                    pending[cid] = (NvmeOpcode.Write, lba, bytes, data);
                }
                else
                {
                    Assert.True(queue.TrySubmitRead(lba, bytes, out cid));
                    pending[cid] = (NvmeOpcode.Read, lba, bytes, null);
                }
            }

            _controller.Process(random.Next(1, Depth + 1));
            queue.Poll((in NvmeIoCompletion c, ReadOnlySpan<byte> data) =>
            {
                Assert.Equal(NvmeStatus.Success, c.Status);
                var (op, lba, _, written) = pending[c.CommandId];
                pending.Remove(c.CommandId);
                Assert.Equal((op, lba), (c.Opcode, c.Lba));
                var media = model.AsSpan(checked((int)lba * 512), c.Bytes);
                if (op == NvmeOpcode.Write)
                {
                    written.CopyTo(media);
                }
                else
                {
                    Assert.True(data.SequenceEqual(media));
                    reads++;
                }
            });
        }

        Assert.True(reads > 100, $"only {reads} reads were checked");
        Assert.Equal(queue.Stats.Submitted, queue.Stats.Completed + queue.Outstanding);
        Assert.Equal(0, _controller.Counters.Faults);
        Finish(queue);
    }

    [Fact]
    public void Io_OfEverySize_MapsOnceAndUsesAPrpListAbove8KiB()
    {
        var queue = Create(4);
        var idle = _environment.LiveMappings;
        foreach (var bytes in _sizes)
        {
            var maps = _environment.Maps;
            var lists = _controller.Stats.PrpListFetches;
            Assert.True(queue.TrySubmitWrite(0, Bed.Pattern(bytes, bytes), out _));
            Assert.Equal(maps + 1, _environment.Maps);

            _controller.Process();
            Assert.Equal(1, queue.Poll(null));

            Assert.Equal(bytes > 8192 ? 1 : 0, _controller.Stats.PrpListFetches - lists);
            Assert.Equal(idle, _environment.LiveMappings);
        }

        var media = new byte[131072];
        _controller.Namespace.Read(0, media);
        Assert.Equal(Bed.Pattern(131072, 131072), media);
        Finish(queue);
    }

    [Fact]
    public void Read_128KiB_ArrivesInHostMemoryAndIsHandedToTheCaller()
    {
        var queue = Create(2);
        var data = Bed.Pattern(131072, 77);
        _controller.Namespace.Write(512 * 512, data);
        byte[]? got = null;

        Assert.True(queue.TrySubmitRead(512, 131072, out var cid));
        _controller.Process();
        queue.Poll((in NvmeIoCompletion c, ReadOnlySpan<byte> d) => got = d.ToArray());

        Assert.Equal(data, got);
        Assert.Equal(131072, _controller.Stats.DataBytesToHost);
        Assert.Equal(0, cid);
        Finish(queue);
    }

    [Fact]
    public void Observer_SeesEveryTransferTheCountersCount()
    {
        var observer = new Tally();
        _controller.Dma.Observer = observer;
        _controller.Dma.MaxPayload = 256;
        var queue = Create(4);
        foreach (var bytes in _sizes)
        {
            queue.TrySubmitWrite(0, new byte[bytes], out _);
            queue.TrySubmitRead(0, bytes, out _);
            _controller.Process();
            queue.Poll(null);
        }

        var counters = _controller.Counters;
        Assert.Equal(counters.Transfers, observer.Transfers);
        Assert.Equal(counters.Bytes, observer.Bytes);
        Assert.Equal(0, counters.Faults);
        var data = 2L * _sizes.Sum();
        Assert.Equal(data, _controller.Stats.DataBytesToHost + _controller.Stats.DataBytesFromHost);
        Assert.True(counters.Transfers >= data / 256);
        Finish(queue);
    }

    [Fact]
    public void Poll_BeforeTheControllerRuns_ReapsNothing()
    {
        var queue = Create(2);
        queue.TrySubmitFlush(out _);

        Assert.Equal(0, queue.Poll(null));
        _controller.Process();
        Assert.Equal(1, queue.Poll(null));
        Finish(queue);
    }

    [Fact]
    public void Submit_QueueFull_IsRefused()
    {
        var queue = Create(2);

        Assert.True(queue.TrySubmitRead(0, 4096, out _));
        Assert.True(queue.TrySubmitFlush(out _));
        Assert.False(queue.TrySubmitRead(0, 4096, out _));

        Assert.Equal(1, queue.Stats.Busy);
        Finish(queue);
    }

    [Fact]
    public void Submit_MapRefused_SubmitsNothingAndHoldsNothing()
    {
        var queue = Create(2);
        var pages = _environment.PagesAllocated;
        _environment.MapBudget = 0;

        Assert.False(queue.TrySubmitWrite(0, new byte[65536], out _));

        Assert.Equal(pages, _environment.PagesAllocated);
        Assert.Equal(0, _controller.PendingCommands);
        Assert.Equal(1, queue.Stats.MapFailures);
        Finish(queue);
    }

    [Fact]
    public void Submit_SizeNotWholeBlocksOrAboveMdts_Throws()
    {
        var queue = Create(2);

        Assert.Throws<ArgumentOutOfRangeException>(() => queue.TrySubmitRead(0, 1000, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => queue.TrySubmitRead(0, 135168, out _));
        Finish(queue);
    }

    [Fact]
    public void Delete_WithIoOutstanding_ReleasesEverything()
    {
        var queue = Create(4);
        queue.TrySubmitWrite(0, new byte[131072], out _);
        queue.TrySubmitRead(0, 65536, out _);

        queue.Delete();

        Assert.Null(_controller.GetQueue(1));
        _environment.AssertNoLeaks();
    }

    [Fact]
    public void TryCreate_PrpListPagesRefused_HoldsNothing()
    {
        _environment.MapBudget = 3;

        Assert.Null(NvmeQueueDriver.TryCreate(_controller, _environment, 1, 4));

        Assert.Null(_controller.GetQueue(1));
        _environment.AssertNoLeaks();
    }

    private sealed class Tally : IDmaObserver
    {
        public long Transfers { get; private set; }

        public long Bytes { get; private set; }

        public void OnTransfer(in DmaTransfer transfer)
        {
            Transfers++;
            Bytes += transfer.Result.IsOk ? transfer.Length : 0;
        }
    }

    private static bool Overlaps(ulong a, int aBytes, ulong b, int bBytes) =>
        a * 512 < (b * 512) + (ulong)bBytes && b * 512 < (a * 512) + (ulong)aBytes;

    private NvmeQueueDriver Create(int depth) =>
        NvmeQueueDriver.TryCreate(_controller, _environment, 1, depth) ?? throw new InvalidOperationException("no queue");

    private void Finish(NvmeQueueDriver queue)
    {
        _controller.Process();
        queue.Poll(null);
        Assert.Equal(0, queue.Outstanding);
        queue.Delete();
        _environment.AssertNoLeaks();
    }
}
