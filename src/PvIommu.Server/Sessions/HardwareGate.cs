namespace PvIommu.Server.Sessions;

/// <summary>
/// Keeps device DMA apart from everything that programs the IOMMU. The simulated units are not
/// thread-safe: a DMA fills the IOTLB and context cache that a hypercall invalidates, so a DMA
/// runs alone (write side) while hypercalls and toolstack commands run side by side (read side),
/// as vCPUs do; the hypervisor orders those among themselves with its own locks.
/// </summary>
/// <remarks>
/// The lock prefers writers: a waiting DMA holds back new calls until the calls in flight end,
/// so a long map delays a DMA (and the calls queued behind it) by the rest of that map.
/// </remarks>
internal sealed class HardwareGate : IDisposable
{
    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);

    /// <summary>Enters for a call that may program the IOMMU; many at once.</summary>
    public Scope EnterCall()
    {
        _lock.EnterReadLock();
        return new Scope(_lock, exclusive: false);
    }

    /// <summary>Enters for a DMA; alone.</summary>
    public Scope EnterDma()
    {
        _lock.EnterWriteLock();
        return new Scope(_lock, exclusive: true);
    }

    /// <inheritdoc/>
    public void Dispose() => _lock.Dispose();

    /// <summary>Leaves the gate when disposed.</summary>
    internal readonly ref struct Scope(ReaderWriterLockSlim gate, bool exclusive)
    {
        /// <summary>Leaves the gate.</summary>
        public void Dispose()
        {
            if (exclusive)
            {
                gate.ExitWriteLock();
            }
            else
            {
                gate.ExitReadLock();
            }
        }
    }
}
