namespace PvIommu.Server.Conformance;

/// <summary>
/// The rules of the spec and the wire protocol, checked as a client does: every rule opens its
/// own connections, builds what it needs through toolstack commands (fresh domains, assigned
/// devices), checks the errno each misuse must return, and tears down what it built, so the
/// suite runs against any server that speaks the protocol, and runs again on the same server.
/// </summary>
/// <remarks>The hardware domain is never initialised by the suite; rules that need contexts use domains they create.</remarks>
public static partial class ConformanceSuite
{
    /// <summary>Every rule, in the order they run.</summary>
    public static IReadOnlyList<ConformanceRule> Rules { get; } = [.. WireRules(), .. GateRules(), .. InitRules(), .. ContextRules(), .. MapRules(), .. RemoteRules(), .. DmaRules(), .. FinalRules()];

    /// <summary>Runs every rule against <paramref name="target"/>, yielding each outcome as it is known.</summary>
    public static IEnumerable<RuleOutcome> Run(IConformanceTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        foreach (var rule in Rules)
        {
            yield return rule.Run(target);
        }
    }
}

/// <summary>One rule: an id (spec section or wire-protocol topic), what it checks, and the check.</summary>
/// <param name="Id">A stable id, e.g. <c>spec3.init.twice</c>.</param>
/// <param name="Description">The rule in words, with the expected result.</param>
/// <param name="Check">Throws <see cref="RuleFailedException"/> on a violation; returns what it saw (an errno, usually).</param>
public sealed record ConformanceRule(string Id, string Description, Func<RuleContext, string> Check)
{
    /// <summary>Runs the check with a fresh context, which undoes what the rule built.</summary>
    public RuleOutcome Run(IConformanceTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        var context = new RuleContext(target);
        try
        {
            var seen = Check(context);
            context.Dispose();
            return new RuleOutcome(this, true, seen);
        }
        catch (RuleFailedException failure)
        {
            return new RuleOutcome(this, false, failure.Message + Cleanup(context));
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or System.Text.Json.JsonException or KeyNotFoundException)
        {
            return new RuleOutcome(this, false, $"{e.GetType().Name}: {e.Message}" + Cleanup(context));
        }
    }

    private static string Cleanup(RuleContext context)
    {
        try
        {
            context.Dispose();
            return string.Empty;
        }
        catch (Exception e) when (e is RuleFailedException or IOException or InvalidOperationException)
        {
            return $"; cleanup failed: {e.Message}";
        }
    }
}

/// <summary>The result of one rule.</summary>
/// <param name="Rule">The rule.</param>
/// <param name="Passed">Whether the target obeys it.</param>
/// <param name="Seen">What the check saw (the errno, or why it failed).</param>
public sealed record RuleOutcome(ConformanceRule Rule, bool Passed, string Seen)
{
    /// <summary>The report line: <c>PASS|FAIL &lt;rule id&gt; &lt;description&gt; (&lt;seen&gt;)</c>.</summary>
    public override string ToString() => $"{(Passed ? "PASS" : "FAIL")} {Rule.Id} {Rule.Description} ({Seen})";
}

/// <summary>A rule is violated; the message says what was expected and what was seen.</summary>
public sealed class RuleFailedException : Exception
{
    /// <summary>A violation described by <paramref name="message"/>.</summary>
    public RuleFailedException(string message)
        : base(message)
    {
    }

    /// <summary>A violation without a description (prefer the other constructors).</summary>
    public RuleFailedException()
    {
    }

    /// <summary>A violation described by <paramref name="message"/>, caused by <paramref name="inner"/>.</summary>
    public RuleFailedException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
