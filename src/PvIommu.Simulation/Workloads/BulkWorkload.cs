using System.Globalization;
using PvIommu.Devices;
using PvIommu.Devices.Copier;
using PvIommu.Guest.Vfio;
using PvIommu.Simulation.Results;
using PvIommu.Simulation.Running;
using PvIommu.Simulation.Scenarios;

namespace PvIommu.Simulation.Workloads;

/// <summary>
/// Bulk transfers by a GPU-like copy engine. With VFIO, a user-space driver maps its whole
/// buffer once at an IOVA it picks (superpages where aligned) and the copies cost no
/// hypercall; with the DMA API, each transfer maps its source or destination and unmaps it.
/// Transfers alternate: an upload from the buffer's first half into device memory, then a
/// download from device memory into its second half.
/// </summary>
internal sealed class BulkWorkload : Workload
{
    private readonly BulkSpec _spec;
    private readonly BulkCopier _copier;
    private readonly List<(ulong Dfn, ulong Frames)> _reachable = [];
    private VfioContainer? _vfio;
    private ulong _bufferGfn;
    private long _uploads;
    private long _downloads;
    private long _failed;
    private long _outsideOk;
    private readonly List<(string Probe, bool Blocked)> _probes = [];

    public BulkWorkload(SimContext context, BulkSpec spec)
        : base(context, spec, spec.BytesPerSecond / spec.TransferBytes)
    {
        _spec = spec;
        _copier = new BulkCopier(context.Host.Machine, spec.Device, spec.BufferBytes, spec.ChunkBytes);
        _copier.Dma.Observer = new ReachWatcher(this);
    }

    public override IDmaDevice Device => _copier;

    public override string Mapping => _spec.Driver == BulkDriver.Vfio ? "vfio (user-mapped)" : Describe(Environment?.Dma);

    private ulong Pages => _spec.BufferBytes >> 12;

    public override void Setup()
    {
        var before = Context.Meter.Calls(Kernel.Driver);
        _bufferGfn = Kernel.Memory.AllocateContiguous(Pages, Math.Min(512, Pages));
        var gfns = new ulong[Pages];
        for (ulong i = 0; i < Pages; i++)
        {
            gfns[i] = _bufferGfn + i;
        }

        foreach (var region in Context.Scenario.Host.Reserved.Where(r => r.Devices.Contains(Spec.Device)))
        {
            _reachable.Add((region.StartFrame, region.Frames));
        }

        if (_spec.Driver == BulkDriver.Vfio)
        {
            var ret = VfioContainer.Open(Kernel.Driver, SimContext.Address(Spec.Device), null, out _vfio);
            Check(ret, "open a VFIO container");
            Check(_vfio!.MapDma(_spec.Iova, gfns, VfioDmaFlags.Read | VfioDmaFlags.Write), $"map the user's buffer at {_spec.Iova:x}");
            _reachable.Add((_spec.Iova >> 12, Pages));
        }
        else
        {
            CreateEnvironment();
        }

        Charge(Context.Meter.Calls(Kernel.Driver) - before, default);
    }

    public override void Poll() => Environment?.Dma.Poll();

    public override IEnumerable<RangeResult> Ranges() =>
        _vfio is not null ? [new RangeResult(_spec.Iova >> 12, Pages, "user buffer (vfio)")]
        : Environment?.Dma.IsProtected == true ? LiveRanges("transfer") : [];

    public override IEnumerable<Setting> Details() =>
    [
        new("uploads (memory to device)", _uploads.ToString(CultureInfo.InvariantCulture)),
        new("downloads (device to memory)", _downloads.ToString(CultureInfo.InvariantCulture)),
        new("transfers failed", _failed.ToString(CultureInfo.InvariantCulture)),
        new("buffer", Units.FormatSize(_spec.BufferBytes)),
        new("successful DMA outside the user's mappings", _outsideOk.ToString(CultureInfo.InvariantCulture)),
    ];

    public override IEnumerable<CheckResult> Checks()
    {
        if (_vfio is null)
        {
            yield break;
        }

        // Before teardown: the device tries addresses outside what the user mapped.
        // A page of dom0's RAM by its physical address, away from anything mapped for the device.
        var gfn = Kernel.Memory.FirstGfn + 0x800;
        while (_reachable.Any(r => gfn >= r.Dfn && gfn < r.Dfn + r.Frames))
        {
            gfn += 0x800;
        }

        var dom0Ram = gfn << 12;
        foreach (var (name, address) in new[] { ("just past the user's buffer", _spec.Iova + _spec.BufferBytes), ("dom0 RAM by physical address", dom0Ram), ("IOVA 0", 0UL) })
        {
            var done = _copier.Run(CopyCommand.HostToLocal(address, 0, 4096));
            _probes.Add((name, done.Status == CopyStatus.DmaFault));
        }

        var blocked = _probes.Count(p => p.Blocked);
        yield return new CheckResult(
            $"{Spec.Device} (VFIO) reaches only what the user mapped",
            _outsideOk == 0 && blocked == _probes.Count,
            $"{_outsideOk} successful requests outside the user's mappings; {blocked} of {_probes.Count} probes outside them blocked ({string.Join(", ", _probes.Select(p => $"{p.Probe}: {(p.Blocked ? "blocked" : "REACHED")}"))})");
    }

    public override void Teardown()
    {
        _vfio?.Release();
        Environment?.Dma.Shutdown();
    }

    protected override void RunOperations(long count, long startNs, long endNs)
    {
        var half = _spec.BufferBytes / 2;
        for (long i = 0; i < count; i++)
        {
            var upload = (Operations & 1) == 0;
            var slot = (ulong)(Operations / 2) % Math.Max(1, half / _spec.TransferBytes);
            var offset = slot * _spec.TransferBytes + (upload ? 0 : half);
            var calls = default(CallCost);
            ulong busAddress;
            if (_vfio is not null)
            {
                busAddress = _spec.Iova + offset;
            }
            else
            {
                var gfns = new ulong[_spec.TransferBytes >> 12];
                for (var p = 0; p < gfns.Length; p++)
                {
                    gfns[p] = _bufferGfn + (offset >> 12) + (ulong)p;
                }

                var spent = Environment!.Spent;
                Environment.TryMap([.. gfns.Select(g => g << 12)], upload ? Devices.Drivers.DmaDirection.ToDevice : Devices.Drivers.DmaDirection.FromDevice, out busAddress);
                calls = Environment.Spent - spent;
            }

            var before = Meter.Walks(Unit);
            var done = _copier.Run(upload
                ? CopyCommand.HostToLocal(busAddress, 0, _spec.TransferBytes)
                : CopyCommand.LocalToHost(0, busAddress, _spec.TransferBytes));
            var walks = Meter.Walks(Unit) - before;
            if (_vfio is null)
            {
                var spent = Environment!.Spent;
                Environment.Unmap(busAddress, (int)(_spec.TransferBytes >> 12), upload ? Devices.Drivers.DmaDirection.ToDevice : Devices.Drivers.DmaDirection.FromDevice);
                calls += Environment.Spent - spent;
            }

            Charge(calls, walks);
            Operations++;
            _ = upload ? _uploads++ : _downloads++;
            _failed += done.Status == CopyStatus.Done ? 0 : 1;
            Latency.Add(Context.LatencyNs(calls, walks, (long)_spec.TransferBytes));
        }
    }

    private void Check(int ret, string what)
    {
        if (ret != 0)
        {
            throw new SimulationException($"{Spec.Device} ({Kernel.Spec.Name}): cannot {what}: {Abi.XenErrnos.Describe(ret)}");
        }
    }

    /// <summary>Sees every request of the copier and notes any that succeeded outside what the user mapped.</summary>
    private sealed class ReachWatcher(BulkWorkload owner) : IDmaObserver
    {
        public void OnTransfer(in DmaTransfer transfer)
        {
            if (!transfer.Result.IsOk || owner._vfio is null)
            {
                return;
            }

            var first = transfer.BusAddress >> 12;
            var last = (transfer.BusAddress + (ulong)transfer.Length - 1) >> 12;
            if (!owner._reachable.Any(r => first >= r.Dfn && last < r.Dfn + r.Frames))
            {
                owner._outsideOk++;
            }
        }
    }
}
