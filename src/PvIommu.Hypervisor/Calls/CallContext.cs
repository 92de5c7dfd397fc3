using PvIommu.Hypervisor.Domains;

namespace PvIommu.Hypervisor.Calls;

/// <summary>One iommu_op on its way through the handlers: who calls, on whose state, what it owes.</summary>
/// <param name="host">The host.</param>
/// <param name="caller">The domain whose rights apply (the remote_cmd caller for a remote call).</param>
/// <param name="target">The domain whose contexts, devices and gfns the call acts on.</param>
/// <param name="flushes">Where invalidations are queued.</param>
internal sealed class CallContext(Host host, Domain caller, Domain target, FlushQueue flushes)
{
    public Host Host { get; } = host;

    public Domain Caller { get; } = caller;

    public Domain Target { get; } = target;

    public FlushQueue Flushes { get; } = flushes;

    /// <summary>Whether this invocation continues a preempted one (a free may then resume its dying context).</summary>
    public bool IsContinuation { get; set; }

    /// <summary>Frames a handler processes between preemption checks.</summary>
    public int Batch => Host.Options.PreemptBatch;

    /// <summary>Whether other work waits for this CPU (<c>hypercall_preempt_check()</c>).</summary>
    public bool ShouldPreempt() => Host.Cpus.HasWaiters;
}
