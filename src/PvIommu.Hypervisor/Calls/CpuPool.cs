namespace PvIommu.Hypervisor.Calls;

/// <summary>
/// The physical CPUs hypercalls run on. A call holds one while it runs; when all are busy,
/// callers queue in arrival order. A running call that sees a queue at a slice boundary is
/// preempted (its continuation queues behind the waiters), which is what Xen's
/// <c>hypercall_preempt_check()</c> amounts to here (spec §4).
/// </summary>
internal sealed class CpuPool
{
    // A monitor (not System.Threading.Lock): waiters sleep on it with Monitor.Wait.
    private readonly object _lock = new();
    private readonly Queue<long> _queue = new();
    private int _free;
    private long _tickets;
    private int _waiting;

    public CpuPool(int cpus)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(cpus, 1);
        _free = cpus;
        Count = cpus;
    }

    public int Count { get; }

    /// <summary>Whether some call is waiting for a CPU (work is pending).</summary>
    public bool HasWaiters => Volatile.Read(ref _waiting) > 0;

    /// <summary>vCPUs queued for a CPU now (tests use it to line calls up).</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    public void Enter()
    {
        lock (_lock)
        {
            if (_free > 0 && _queue.Count == 0)
            {
                _free--;
                return;
            }

            WaitTurn();
        }
    }

    /// <summary>
    /// Gives the CPU up and queues for it again in one step (<c>sched_yield</c>): every vCPU
    /// already waiting runs first, and they all see this caller waiting. Returns holding a CPU.
    /// </summary>
    public void Yield()
    {
        lock (_lock)
        {
            Release();
            WaitTurn();
        }
    }

    /// <summary>Queues a ticket and sleeps until it is first and a CPU is free; the caller holds the lock.</summary>
    private void WaitTurn()
    {
        var ticket = _tickets++;
        _queue.Enqueue(ticket);
        Interlocked.Increment(ref _waiting);
        while (_free == 0 || _queue.Peek() != ticket)
        {
            Monitor.Wait(_lock);
        }

        _queue.Dequeue();
        Interlocked.Decrement(ref _waiting);
        _free--;

        // The next ticket may run too if a CPU is still free.
        if (_free > 0 && _queue.Count != 0)
        {
            Monitor.PulseAll(_lock);
        }
    }

    public void Exit()
    {
        lock (_lock)
        {
            Release();
        }
    }

    /// <summary>Frees a CPU and wakes the queue; the caller holds the lock.</summary>
    private void Release()
    {
        _free++;

        // A pulse costs a call into the runtime even when nobody sleeps: only waiters need one.
        if (_queue.Count != 0)
        {
            Monitor.PulseAll(_lock);
        }
    }
}
