using PvIommu.Abi;
using PvIommu.Hypervisor.Domains;

namespace PvIommu.Hypervisor.Calls;

/// <summary>
/// The hypercall path of one domain's vCPU inside this process: ABI bytes in, errno and bytes
/// out, straight into the dispatcher. Safe to use from several threads (several vCPUs).
/// </summary>
public sealed class InProcessChannel : IHypercallChannel
{
    private readonly Host _host;

    /// <summary>A channel through which <paramref name="domain"/> calls <paramref name="host"/>.</summary>
    public InProcessChannel(Host host, Domain domain)
    {
        _host = host ?? throw new ArgumentNullException(nameof(host));
        Domain = domain ?? throw new ArgumentNullException(nameof(domain));
    }

    /// <summary>The calling domain.</summary>
    public Domain Domain { get; }

    /// <inheritdoc/>
    public int IommuOp(uint subOp, Span<byte> argument) => _host.Dispatcher.IommuOp(Domain, subOp, argument);

    /// <inheritdoc/>
    public void Multicall(IReadOnlyList<IommuOpCall> calls) => _host.Dispatcher.Multicall(Domain, calls);

    /// <inheritdoc/>
    public void Multicall(IommuOpBatch batch) => _host.Dispatcher.Multicall(Domain, batch);
}
