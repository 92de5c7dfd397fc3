using PvIommu.Abi;
using PvIommu.Hypervisor.Domains;
using PvIommu.Hypervisor.Tests.Model;
using PvIommu.Hypervisor.Tests.Support;
using PvIommu.Platform.Memory;
using PvIommu.Platform.PageTables;

namespace PvIommu.Hypervisor.Tests.Faults;

/// <summary>
/// Fault injection at every allocation (style habit 12, Linux's <c>fail_nth</c>): for n = 1, 2, …
/// the scripted run is repeated with the n-th arena page take (armed right after init), or the
/// n-th host heap allocation (armed before init), refused, until the script runs through without
/// an injected failure. The call that meets the failure must return -ENOMEM (ENOMEM for the
/// toolstack's balloon) and leave the state as it was — except the pages spec §3 says stay for
/// map and unmap, exactly as many as the OUT struct counts — with the audit empty; then the same
/// call (or, after partial progress, the rest of it) succeeds, and from there on every step
/// leaves the host exactly as the run without faults did.
/// </summary>
public class FaultInjectionTests
{
    public enum Source
    {
        /// <summary>The target domain's arena (page-table pages): armed right after init.</summary>
        ArenaPage,

        /// <summary>Xen's heap (arenas, ballooned RAM): armed before init.</summary>
        HostHeap,
    }

    [Theory]
    [InlineData(Source.ArenaPage, 0)]
    [InlineData(Source.ArenaPage, 1)]
    [InlineData(Source.HostHeap, 0)]
    [InlineData(Source.HostHeap, 1)]
    public void EveryAllocationRefused_CallFailsCleanly_AndTheRetryCompletesTheScript(Source source, int target)
    {
        var baseline = Baseline((ushort)target);
        var problems = new List<string>();
        var n = 1;
        for (; n < 200; n++)
        {
            if (!RunWithFault(source, (ushort)target, n, baseline, problems))
            {
                break;
            }
        }

        Assert.True(n > 1, "no allocation was ever refused: the injector is not reached");
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    private static (Host Host, FaultScript Script) Boot(ushort target)
    {
        var host = SmallHost.Create();
        Assert.True(host.SetPvIommu(1, PvIommuPolicy.On).IsOk);
        return (host, new FaultScript(host, target));
    }

    /// <summary>The state after each step of the run without faults.</summary>
    private static List<StateSnapshot> Baseline(ushort target)
    {
        var (host, script) = Boot(target);
        var snapshots = new List<StateSnapshot>();
        foreach (var step in script.Steps)
        {
            var result = script.Run(step);
            Assert.True(result.Error is null, $"{step.Name} fails without faults: {result.Error}");
            snapshots.Add(StateSnapshot.Take(host, script.Target, script.Lookups));
        }

        host.AssertNoLeaks();
        return snapshots;
    }

    /// <summary>One run with the n-th allocation refused; false when nothing was refused (n is past the last allocation).</summary>
    private static bool RunWithFault(Source source, ushort target, int n, List<StateSnapshot> baseline, List<string> problems)
    {
        var (host, script) = Boot(target);
        FaultInjector? injector = null;
        if (source == Source.HostHeap)
        {
            injector = host.Heap.Faults;
            injector.FailNth(n);
        }

        var injected = false;
        for (var i = 0; i < script.Steps.Count; i++)
        {
            var step = script.Steps[i];
            var where = $"{source} n={n} target d{target}, step {i} {step.Name}";
            var before = StateSnapshot.Take(host, script.Target, script.Lookups);
            var refused = injector?.Injected ?? 0;
            var result = script.Run(step);
            if (injector is not null && injector.Injected > refused)
            {
                injected = true;
                if (FailedCleanly(host, script, step, result, before) is { } problem)
                {
                    problems.Add($"{where}: {problem}");
                    return true;
                }

                result = script.Retry(step, result);
                if (result.Error is not null)
                {
                    problems.Add($"{where}: the retry fails with {result.Error}");
                    return true;
                }
            }
            else if (result.Error is not null)
            {
                problems.Add($"{where}: fails with {result.Error} though nothing was refused");
                return true;
            }

            if (Audit(host) is { } leak)
            {
                problems.Add($"{where}: {leak}");
                return true;
            }

            if (baseline[i].Diff(StateSnapshot.Take(host, script.Target, script.Lookups)) is { } diff)
            {
                problems.Add($"{where}: differs from the run without faults: {diff}");
                return true;
            }

            if (source == Source.ArenaPage && step is InitStep)
            {
                injector = script.Target.Iommu.Arena!.Faults;
                injector.FailNth(n);
            }
        }

        return injected;
    }

    /// <summary>The refused call's result and what it left: -ENOMEM, state as before but for the pages counted, books balanced.</summary>
    private static string? FailedCleanly(Host host, FaultScript script, ScriptStep step, StepResult result, StateSnapshot before)
    {
        if (result.Error != XenErrno.ENOMEM)
        {
            return $"returned {result.Error?.ToString() ?? "success"} where an allocation was refused, not ENOMEM";
        }

        var after = StateSnapshot.Take(host, script.Target, script.Lookups);
        if (result.Done == 0)
        {
            return before.Diff(after) is { } diff ? $"ENOMEM but the state changed: {diff}" : Audit(host);
        }

        if (before.Diff(after, progress: true) is { } changed)
        {
            return $"ENOMEM after {result.Done} pages, and more changed: {changed}";
        }

        return Progress(script, step, result, before, after) ?? Audit(host);
    }

    /// <summary>After partial progress, exactly the pages counted changed in the step's context, and nothing in the others.</summary>
    private static string? Progress(FaultScript script, ScriptStep step, StepResult result, StateSnapshot before, StateSnapshot after)
    {
        var ctx = script.SlotContext(step is MapStep m ? m.Slot : ((UnmapStep)step).Slot);
        var expected = before.Frames(ctx);
        var frames = (ulong)result.Done * (result.Pgsize / PageSizes.Size4K);
        for (ulong i = 0; i < frames; i++)
        {
            if (step is MapStep)
            {
                expected[result.Dfn + i] = (script.Target.P2m.Lookup(result.Gfn + i).Mfn.Value, PteAccess.ReadWrite);
            }
            else
            {
                expected.Remove(result.Dfn + i);
            }
        }

        var actual = after.Frames(ctx);
        var wrong = expected.Where(e => !actual.TryGetValue(e.Key, out var a) || a != e.Value).Select(e => e.Key)
            .Concat(actual.Keys.Where(k => !expected.ContainsKey(k))).Order().Take(4).ToList();
        if (wrong.Count > 0)
        {
            return $"after {result.Done} pages counted, ctx {ctx} differs at dfns {string.Join(",", wrong.Select(d => d.ToString("x")))}";
        }

        var others = before.Leaves.Keys.Where(k => k != ctx && !before.Leaves[k].SequenceEqual(after.Leaves[k])).ToList();
        return others.Count == 0 ? null : $"contexts {string.Join(",", others)} changed too";
    }

    private static string? Audit(Host host)
    {
        var problems = host.Audit();
        return problems.Count == 0 ? null : $"audit: {string.Join("; ", problems)}";
    }
}
