using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Hypervisor.Calls.Handlers;
using PvIommu.Hypervisor.Domains;

namespace PvIommu.Hypervisor.Calls;

/// <summary>
/// <c>do_iommu_op()</c>: the entry gate and call policy (spec §1), the argument copy-in check,
/// the sub-op switch, the continuation loop (spec §4) and the invalidations owed (§3, §4.1).
/// </summary>
public sealed class IommuOpDispatcher
{
    private readonly Host _host;

    internal IommuOpDispatcher(Host host) => _host = host;

    /// <summary>
    /// Runs one iommu_op for <paramref name="caller"/>: <paramref name="argument"/> holds the
    /// argument struct (for remote_cmd, the remote_cmd struct followed by the inner one) and is
    /// written back in place.
    /// </summary>
    /// <returns>0 or a negative Xen errno.</returns>
    public int IommuOp(Domain caller, uint subOp, Span<byte> argument)
    {
        ArgumentNullException.ThrowIfNull(caller);
        _host.CountHypercall();
        var own = new CallContext(_host, caller, caller, new FlushQueue());
        var ret = Run(own, subOp, argument, cpuHeld: false);
        Drain(own.Flushes);
        return ret;
    }

    /// <summary>A multicall of iommu_op entries: one trap, merged invalidations issued before returning (spec §4.1).</summary>
    public void Multicall(Domain caller, IReadOnlyList<IommuOpCall> calls)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(calls);

        // Entries are read from an array: indexing a list interface is a dispatch per read.
        Run(caller, new CallArray(calls as IommuOpCall[] ?? [.. calls]));
    }

    /// <summary>The same multicall with its entries packed in <paramref name="batch"/>, read and written in place.</summary>
    public void Multicall(Domain caller, IommuOpBatch batch)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(batch);
        Run(caller, new PackedEntries(batch));
    }

    /// <summary>The multicall loop, compiled once per entry layout (a struct: no dispatch per entry).</summary>
    private void Run<TEntries>(Domain caller, TEntries entries)
        where TEntries : struct, IMulticallEntries
    {
        _host.CountMulticall();

        // The entries the caller makes on itself share one context and one flush queue (a context
        // holds nothing an entry leaves behind but IsContinuation, which Run clears).
        var own = new CallContext(_host, caller, caller, new FlushQueue());

        // The batch holds one CPU from its first entry to its last, as a multicall runs on its
        // vCPU in Xen. Between entries, and at an entry's preemption point, a vCPU waiting for a
        // CPU runs first (hypercall_preempt_check() in the multicall loop).
        _host.Cpus.Enter();
        try
        {
            var count = entries.Count;
            for (var i = 0; i < count; i++)
            {
                _host.CountHypercall();
                entries.SetResult(i, Run(own, entries.SubOp(i), entries.Argument(i), cpuHeld: true));
                if (i + 1 < count && _host.Cpus.HasWaiters)
                {
                    _host.Cpus.Yield();
                }
            }
        }
        finally
        {
            _host.Cpus.Exit();
        }

        Drain(own.Flushes);
    }

    private void Drain(FlushQueue flushes)
    {
        if (!flushes.IsEmpty)
        {
            flushes.Drain(_host);
        }
    }

    /// <summary>
    /// One call or multicall entry of <paramref name="own"/>'s caller on itself: gate, policy,
    /// argument size, then the handler (a multicall's entry runs on the CPU the batch holds).
    /// </summary>
    private int Run(CallContext own, uint subOp, Span<byte> argument, bool cpuHeld)
    {
        var caller = own.Caller;

        // Entry gate (spec §1): before anything, noop included; the argument is not touched.
        if (!PassesGate(caller))
        {
            return XenErrno.ENODEV.ToReturnValue();
        }

        var op = (SubOp)subOp;
        if (!SubOps.IsDefined(op) || SubOps.IsDeclaredOnly(op))
        {
            return XenErrno.EOPNOTSUPP.ToReturnValue();
        }

        if (op == SubOp.Noop)
        {
            return 0;
        }

        if (op == SubOp.RemoteCmd)
        {
            return Remote(caller, argument, own.Flushes, cpuHeld);
        }

        if (argument.Length != SubOps.ArgumentSize(op))
        {
            return XenErrno.EFAULT.ToReturnValue();
        }

        if (!MayCall(caller, op))
        {
            return XenErrno.EPERM.ToReturnValue();
        }

        own.IsContinuation = false;
        return Execute(own, op, argument, cpuHeld);
    }

    /// <summary>remote_cmd (spec §3): the inner sub-op on another domain, with the caller's rights.</summary>
    private int Remote(Domain caller, Span<byte> argument, FlushQueue flushes, bool cpuHeld)
    {
        if (argument.Length < RemoteCmd.Size)
        {
            return XenErrno.EFAULT.ToReturnValue();
        }

        var remote = RemoteCmd.Read(argument);
        var inner = argument[RemoteCmd.Size..];
        var allowed = caller.IsHardwareDomain || caller.DeviceModelTarget == remote.Domid;
        if (!allowed)
        {
            return XenErrno.EPERM.ToReturnValue();
        }

        if (_host.FindDomain(remote.Domid) is not { } target)
        {
            return XenErrno.ENOENT.ToReturnValue();
        }

        if (!HasIommu(target) || target.Policy == PvIommuPolicy.Off)
        {
            return XenErrno.ENODEV.ToReturnValue();
        }

        var op = (SubOp)remote.Subop;
        if (op == SubOp.RemoteCmd)
        {
            return XenErrno.EINVAL.ToReturnValue();
        }

        if (!SubOps.IsDefined(op) || SubOps.IsDeclaredOnly(op))
        {
            return XenErrno.EOPNOTSUPP.ToReturnValue();
        }

        if (inner.Length != SubOps.ArgumentSize(op))
        {
            return XenErrno.EFAULT.ToReturnValue();
        }

        return op == SubOp.Noop ? 0 : Execute(new CallContext(_host, caller, target, flushes), op, inner, cpuHeld);
    }

    /// <summary>
    /// The continuation loop: re-issue while the handler reports preemption. The call holds a CPU
    /// from its first invocation to its last (a multicall's entry runs on the CPU the batch holds,
    /// <paramref name="cpuHeld"/>) and yields it between two, behind the vCPUs waiting.
    /// </summary>
    private int Execute(CallContext call, SubOp op, Span<byte> argument, bool cpuHeld)
    {
        if (!cpuHeld)
        {
            _host.Cpus.Enter();
        }

        try
        {
            while (true)
            {
                Outcome outcome;
                lock (call.Target.Lock)
                {
                    outcome = call.Target.IsDying ? XenErrno.ENOENT : Dispatch(call, op, argument);

                    // The progress is in the guest's struct; what was changed is flushed before the
                    // vCPU yields (still holding the CPU and the domain's lock), so neither the call
                    // that runs in its place nor another vCPU of the domain runs before the
                    // invalidation (spec §4).
                    if (outcome.Preempted)
                    {
                        call.Flushes.Drain(_host);
                    }
                }

                if (!outcome.Preempted)
                {
                    return outcome.Ret;
                }

                // The same call is issued again (-ERESTART never reaches the guest), once the
                // vCPUs that made it stop have run.
                call.IsContinuation = true;
                _host.CountContinuation();
                _host.Cpus.Yield();
            }
        }
        finally
        {
            if (!cpuHeld)
            {
                _host.Cpus.Exit();
            }
        }
    }

    private static Outcome Dispatch(CallContext call, SubOp op, Span<byte> argument) => op switch
    {
        SubOp.QueryCapabilities => QueryCapabilitiesHandler.Run(call, argument),
        SubOp.Init => InitHandler.Run(call, argument),
        SubOp.AllocContext => AllocContextHandler.Run(call, argument),
        SubOp.FreeContext => FreeContextHandler.Run(call, argument),
        SubOp.ReattachDevice => ReattachDeviceHandler.Run(call, argument),
        SubOp.MapPages => MapPagesHandler.Run(call, argument),
        SubOp.UnmapPages => UnmapPagesHandler.Run(call, argument),
        SubOp.FlushPages => FlushPagesHandler.Run(call, argument),
        SubOp.LookupPage => LookupPageHandler.Run(call, argument),
        _ => throw new InvalidOperationException($"sub-op {op} has no handler"),
    };

    private bool HasIommu(Domain domain) => _host.HasIommu && domain.Config.IommuEnabled && domain.Iommu.Default is not null;

    /// <summary>Spec §1 entry gate: the caller has an IOMMU and may use PV-IOMMU at all.</summary>
    private bool PassesGate(Domain caller) => HasIommu(caller) && caller.Policy != PvIommuPolicy.Off && !caller.IsDying;

    /// <summary>Spec §1.1 for a local call: query for everyone past the gate; the rest for dom0 and "on".</summary>
    private static bool MayCall(Domain caller, SubOp op) =>
        op == SubOp.QueryCapabilities || caller.IsHardwareDomain || caller.Policy == PvIommuPolicy.On;

    /// <summary>A multicall's entries as the loop reads them.</summary>
    private interface IMulticallEntries
    {
        int Count { get; }

        uint SubOp(int index);

        Span<byte> Argument(int index);

        void SetResult(int index, int result);
    }

    private readonly struct CallArray(IommuOpCall[] calls) : IMulticallEntries
    {
        public int Count => calls.Length;

        public uint SubOp(int index) => calls[index].SubOp;

        public Span<byte> Argument(int index) => calls[index].Argument;

        public void SetResult(int index, int result) => calls[index].Result = result;
    }

    private readonly struct PackedEntries(IommuOpBatch batch) : IMulticallEntries
    {
        public int Count => batch.Count;

        public uint SubOp(int index) => batch.SubOpAt(index);

        public Span<byte> Argument(int index) => batch.ArgumentAt(index);

        public void SetResult(int index, int result) => batch.SetResult(index, result);
    }
}
