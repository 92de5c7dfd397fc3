using System.Diagnostics;
using System.Net.Sockets;

namespace PvIommu.Server;

/// <summary>
/// Waiting for a peer's next bytes without sleeping first (what Linux's <c>busy_poll</c> does for
/// a socket): the socket is polled without a timeout until it is readable (bytes, or the peer's
/// close) or the time is up, and only then does the caller's blocking receive sleep.
/// </summary>
/// <remarks>
/// A thread blocked in a receive is woken by the kernel when bytes arrive; on a virtual machine
/// that wake-up costs ~10 µs (an interrupt to an idle vCPU), more than a call takes to run. On
/// the 2-vCPU VM of docs/performance.md a Unix-socket round trip between two blocked threads
/// took 18–20 µs (p50), and 8–9 µs when both polled for 50 µs first. Each poll yields the CPU
/// to any thread waiting for it: without that, a third runnable thread (the JIT's, the GC's)
/// left one poller waiting for the other to give up, and 1 % of round trips took ~115 µs.
/// </remarks>
internal readonly struct BusyPoll
{
    private readonly long _ticks;

    /// <summary>A poll of <paramref name="time"/> (zero: none, the receive blocks at once).</summary>
    /// <param name="time">How long to poll.</param>
    /// <param name="paramName">The caller's name for <paramref name="time"/>, for the exception.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="time"/> is negative.</exception>
    public BusyPoll(TimeSpan time, string paramName)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(time, TimeSpan.Zero, paramName);
        _ticks = (long)(time.TotalSeconds * Stopwatch.Frequency);
    }

    /// <summary>Returns once <paramref name="socket"/> is readable, or when the poll's time is up.</summary>
    /// <exception cref="ObjectDisposedException">the socket was closed.</exception>
    /// <exception cref="SocketException">the socket failed.</exception>
    public void Wait(Socket socket)
    {
        if (_ticks <= 0)
        {
            return;
        }

        var start = Stopwatch.GetTimestamp();
        var deadline = _ticks < long.MaxValue - start ? start + _ticks : long.MaxValue;
        while (!socket.Poll(0, SelectMode.SelectRead) && Stopwatch.GetTimestamp() < deadline)
        {
            // A thread waiting for this CPU runs first: on a machine with as many CPUs as
            // polling threads, it may be the peer whose bytes this poll waits for.
            Thread.Yield();
        }
    }
}
