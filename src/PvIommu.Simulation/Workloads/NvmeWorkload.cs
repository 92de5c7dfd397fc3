using System.Globalization;
using PvIommu.Devices;
using PvIommu.Devices.Drivers;
using PvIommu.Devices.Nvme;
using PvIommu.Platform.Memory;
using PvIommu.Simulation.Results;
using PvIommu.Simulation.Running;
using PvIommu.Simulation.Scenarios;

namespace PvIommu.Simulation.Workloads;

/// <summary>
/// NVMe I/O at a rate and queue depth with a block-size mix: the Devices layer's
/// <see cref="NvmeQueueDriver"/> over the guest's DMA API, one map per I/O at submit and one
/// unmap when it is reaped, PRP lists for I/Os of more than two pages.
/// </summary>
internal sealed class NvmeWorkload : Workload
{
    /// <summary>Logical blocks the I/Os land in (64 MiB of 4 KiB blocks): the sparse media stays small.</summary>
    private const ulong LbaSpan = 16384;

    private readonly NvmeSpec _spec;
    private readonly NvmeController _controller;
    private readonly double _totalWeight;
    private readonly Dictionary<ushort, double> _pending = [];
    private readonly Dictionary<int, long> _bySize = [];
    private readonly ArraySegment<byte> _data;
    private NvmeQueueDriver? _queue;
    private long _reads;
    private long _writes;
    private long _errors;
    private long _busy;

    public NvmeWorkload(SimContext context, NvmeSpec spec)
        : base(context, spec, spec.Iops)
    {
        _spec = spec;
        var largest = spec.BlockSizes.Max(b => b.Bytes);
        _controller = new NvmeController(context.Host.Machine, spec.Device, new NvmeOptions
        {
            BlockSize = spec.BlockSizes.All(b => b.Bytes % 4096 == 0) ? 4096 : 512,
            BlockCount = LbaSpan * 8 + 4096,
            MaxTransferBytes = Math.Max(128 * 1024, (largest + 4095) / 4096 * 4096),
        });
        _totalWeight = spec.BlockSizes.Sum(b => b.Weight);
        _data = CacheLineBuffer.Allocate(_controller.Options.MaxTransferBytes);
        Random.Fill(_data);
    }

    public override IDmaDevice Device => _controller;

    public override string Mapping => Describe(Environment?.Dma);

    public override void Setup()
    {
        var environment = CreateEnvironment();
        var before = environment.Spent;
        _queue = NvmeQueueDriver.TryCreate(_controller, environment, 1, Math.Min(_spec.QueueDepth, _controller.Options.MaxQueueEntries - 1))
            ?? throw new SimulationException($"{Spec.Device} ({Kernel.Spec.Name}): the NVMe driver cannot map its queues");
        Charge(environment.Spent - before, default);
    }

    public override void Poll() => Environment?.Dma.Poll();

    public override IEnumerable<RangeResult> Ranges() => Environment?.Dma.IsProtected == true ? LiveRanges("queues, PRP lists, I/O") : [];

    public override IEnumerable<Setting> Details()
    {
        var details = new List<Setting>
        {
            new("reads", _reads.ToString(CultureInfo.InvariantCulture)),
            new("writes", _writes.ToString(CultureInfo.InvariantCulture)),
            new("I/O errors", _errors.ToString(CultureInfo.InvariantCulture)),
            new("submits refused (queue full or no mapping)", _busy.ToString(CultureInfo.InvariantCulture)),
            new("PRP list fetches", _controller.Stats.PrpListFetches.ToString(CultureInfo.InvariantCulture)),
        };
        details.AddRange(_bySize.OrderBy(k => k.Key).Select(k => new Setting($"I/Os of {Units.FormatSize((ulong)k.Key)}", k.Value.ToString(CultureInfo.InvariantCulture))));
        return details;
    }

    public override void Teardown()
    {
        _queue?.Delete();
        Environment?.Dma.Shutdown();
    }

    protected override void RunOperations(long count, long startNs, long endNs)
    {
        var environment = Environment!;
        while (count > 0)
        {
            // Fill the queue, let the controller run each command, then reap (unmap) them all.
            var submitted = 0;
            while (count > 0 && _queue!.Outstanding < _queue.Depth)
            {
                var bytes = PickSize();
                var lba = Random.Below(LbaSpan) * (ulong)(4096 / _controller.Options.BlockSize);
                var read = Random.NextDouble() < _spec.ReadFraction;
                var spent = environment.Spent;
                var ok = read ? _queue.TrySubmitRead(lba, bytes, out var cid) : _queue.TrySubmitWrite(lba, _data.AsSpan(0, bytes), out cid);
                var calls = environment.Spent - spent;
                Charge(calls, default);
                count--;
                Operations++;
                if (!ok)
                {
                    _busy++;
                    continue;
                }

                _ = read ? _reads++ : _writes++;
                _bySize[bytes] = _bySize.GetValueOrDefault(bytes) + 1;
                _pending[cid] = Context.LatencyNs(calls, default, 0) + Execute(bytes);
                submitted++;
            }

            Reap();
            if (submitted == 0)
            {
                break;
            }
        }
    }

    /// <summary>The controller runs one command; returns its modelled device time.</summary>
    private double Execute(int bytes)
    {
        var before = Meter.Walks(Unit);
        _controller.Process(1);
        var walks = Meter.Walks(Unit) - before;
        Charge(default, walks);
        return Context.LatencyNs(default, walks, bytes + SubmissionEntry.Size + CompletionEntry.Size);
    }

    private void Reap()
    {
        var environment = Environment!;
        var spent = environment.Spent;
        _queue!.Poll((in NvmeIoCompletion c, ReadOnlySpan<byte> _) =>
        {
            var calls = environment.Spent - spent;
            spent = environment.Spent;
            Charge(calls, default);
            if (c.Status != NvmeStatus.Success)
            {
                _errors++;
            }

            if (_pending.Remove(c.CommandId, out var latency))
            {
                Latency.Add(latency + Context.LatencyNs(calls, default, 0));
            }
        });
        Charge(environment.Spent - spent, default);
    }

    private int PickSize()
    {
        var x = Random.NextDouble() * _totalWeight;
        foreach (var (bytes, weight) in _spec.BlockSizes)
        {
            if ((x -= weight) < 0)
            {
                return bytes;
            }
        }

        return _spec.BlockSizes[^1].Bytes;
    }
}
