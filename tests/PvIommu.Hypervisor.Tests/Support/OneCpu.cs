namespace PvIommu.Hypervisor.Tests.Support;

/// <summary>
/// Lines two vCPUs up on a host's CPUs whatever the OS scheduler does: while the test holds the
/// only free CPU, the first call is started and queues, then the second, then the test lets go.
/// The first therefore runs first, and sees the second waiting at its first preemption point.
/// </summary>
internal static class OneCpu
{
    public static (Task<T1> First, Task<T2> Second) LineUp<T1, T2>(Host host, Func<T1> first, Func<Task<T1>, T2> second)
    {
        host.Cpus.Enter();
        try
        {
            var firstTask = Start(first);
            Assert.True(SpinWait.SpinUntil(() => host.Cpus.Waiting == 1, TimeSpan.FromMinutes(1)), "the first call never queued");
            var secondTask = Start(() => second(firstTask));
            Assert.True(SpinWait.SpinUntil(() => host.Cpus.Waiting == 2, TimeSpan.FromMinutes(1)), "the second call never queued");
            return (firstTask, secondTask);
        }
        finally
        {
            host.Cpus.Exit();
        }
    }

    private static Task<T> Start<T>(Func<T> call) =>
        Task.Factory.StartNew(call, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
}
