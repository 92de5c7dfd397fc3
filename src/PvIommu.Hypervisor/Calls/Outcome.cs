using PvIommu.Abi;

namespace PvIommu.Hypervisor.Calls;

/// <summary>
/// How one invocation of a handler ended: done with a return value, or preempted with its
/// progress written back (spec §4; style habit 9: preemption is an outcome, not an exception).
/// </summary>
internal readonly record struct Outcome(int Ret, bool Preempted)
{
    public static Outcome Ok => default;

    public static Outcome Preempt => new(0, true);

    public static Outcome Fail(XenErrno errno) => new(errno.ToReturnValue(), false);

    public static Outcome From(XenErrno? errno) => errno is { } e ? Fail(e) : Ok;

    public static implicit operator Outcome(XenErrno errno) => Fail(errno);
}
