namespace PvIommu.Platform.Memory;

/// <summary>
/// Makes the n-th allocation from a source fail, as Linux's <c>fail_nth</c> does, so tests can
/// prove that every allocation failure is handled cleanly. Inert until armed.
/// </summary>
public sealed class FaultInjector
{
    private long _countdown;

    /// <summary>Allocations attempted since creation (armed or not).</summary>
    public long Attempts { get; private set; }

    /// <summary>Allocations refused by the injector.</summary>
    public long Injected { get; private set; }

    /// <summary>Fail the <paramref name="n"/>-th attempt from now (1 = the next one); 0 disarms.</summary>
    public void FailNth(long n)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        _countdown = n;
    }

    /// <summary>Counts one attempt and says whether it must fail.</summary>
    public bool ShouldFail()
    {
        Attempts++;
        if (_countdown == 0 || --_countdown != 0)
        {
            return false;
        }

        Injected++;
        return true;
    }
}
