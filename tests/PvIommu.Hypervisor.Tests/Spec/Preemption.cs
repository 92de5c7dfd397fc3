using System.Diagnostics;
using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Hypervisor.Tests.Support;

namespace PvIommu.Hypervisor.Tests.Spec;

/// <summary>
/// Drives spec §4 deterministically on a one-CPU host. The test holds the only CPU, starts the
/// long call on its own thread (it queues for the CPU), then again and again gives the CPU up and
/// queues for it at once: the call runs one slice, sees the test waiting at its next slice
/// boundary, writes its progress back, yields and queues behind the test, which looks at it while
/// it is parked between two slices.
/// </summary>
internal static class Preemption
{
    private static TimeSpan Limit => TimeSpan.FromMinutes(2);

    /// <summary>
    /// One map_pages call of <paramref name="op"/> (from <paramref name="guest"/>), run slice by
    /// slice: <paramref name="onParked"/> sees the struct the call wrote back at each slice
    /// boundary, once per slice (a call that re-queues in the gap is not counted twice).
    /// </summary>
    /// <returns>The call's return value, how many distinct slices were seen, and the struct at the end.</returns>
    public static (int Ret, int Parked, MapPages Done) Map(Host host, Guest guest, MapPages op, Action<MapPages>? onParked = null, int wanted = 3)
    {
        var bytes = new byte[MapPages.Size];
        op.Write(bytes);
        var total = op.NrPages;
        uint last = 0;
        var (ret, parked) = Run(
            host,
            () => guest.Channel.IommuOp((uint)SubOp.MapPages, bytes),
            () =>
            {
                var mapped = MapPages.Read(bytes).Mapped;
                if (mapped == 0 || mapped >= total || mapped == last)
                {
                    return false;
                }

                last = mapped;
                return true;
            },
            () => onParked?.Invoke(MapPages.Read(bytes)),
            wanted);
        return (ret, parked, MapPages.Read(bytes));
    }

    /// <summary><see cref="Map"/>, keeping where each slice ended: the mapped count written back at each boundary.</summary>
    public static (int Ret, int Parked, MapPages Done, List<uint> Ends) MapSlices(Host host, Guest guest, MapPages op, int wanted)
    {
        var ends = new List<uint>();
        var (ret, parked, done) = Map(host, guest, op, m => ends.Add(m.Mapped), wanted);
        return (ret, parked, done, ends);
    }

    /// <summary>
    /// Runs <paramref name="call"/> on another thread one slice at a time, calling
    /// <paramref name="onParked"/> between slices whenever <paramref name="isMidCall"/> says the
    /// call is under way (at most <paramref name="wanted"/> times).
    /// </summary>
    /// <returns>The call's return value and how many times it was seen parked.</returns>
    public static (T Result, int Parked) Run<T>(Host host, Func<T> call, Func<bool> isMidCall, Action onParked, int wanted = 3)
    {
        Assert.Equal(1, host.Cpus.Count);
        var clock = Stopwatch.StartNew();
        var parked = 0;
        host.Cpus.Enter();
        try
        {
            var task = Task.Factory.StartNew(call, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            Assert.True(SpinWait.SpinUntil(() => host.Cpus.HasWaiters || task.IsCompleted, Limit), "the call never asked for the CPU");
            while (!task.IsCompleted)
            {
                Assert.True(clock.Elapsed < Limit, "the preempted call did not finish");

                // The call is first in the queue: it gets the CPU, and the test, queued behind it
                // in the same step, is the pending work it sees at its next slice boundary.
                host.Cpus.Yield();
                if (!task.IsCompleted && isMidCall())
                {
                    if (parked < wanted)
                    {
                        onParked();
                    }

                    parked++;
                }
            }

            return (task.GetAwaiter().GetResult(), parked);
        }
        finally
        {
            host.Cpus.Exit();
        }
    }
}
