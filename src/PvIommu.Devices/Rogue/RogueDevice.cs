using PvIommu.Platform.Iommu;
using PvIommu.Platform.Pci;

namespace PvIommu.Devices.Rogue;

/// <summary>
/// A malicious or broken device: it aims DMA reads and writes at bus addresses it should not
/// reach (other domains' memory, hypervisor frames, freed pages, unmapped addresses) and keeps
/// a record of which got through. Everything it does follows from its seed.
/// </summary>
/// <remarks>
/// Each <see cref="Step"/> picks, from the seeded generator: a target (uniformly), a direction
/// (read or write, evenly), an offset inside the target and a length (1 to
/// <see cref="MaxLength"/> bytes, clipped to the target's end, so attempts may straddle
/// frames). Writes carry seeded junk. The IOMMU's answer is recorded, never thrown. An
/// isolated device breaches nothing: every attempt faults and memory does not change.
/// </remarks>
public sealed class RogueDevice : IDmaDevice
{
    private readonly RogueTarget[] _targets;
    private readonly List<RogueAttempt> _attempts = [];
    private readonly long[,] _tally = new long[Enum.GetValues<RogueTargetKind>().Length, 2];
    private readonly byte[] _buffer;
    private SplitMix64 _random;
    private long _sequence;

    /// <summary>A rogue device at <paramref name="sbdf"/> aiming at <paramref name="targets"/>.</summary>
    /// <param name="port">Where its DMA goes (the machine).</param>
    /// <param name="sbdf">Its PCI address.</param>
    /// <param name="seed">Decides every choice it makes.</param>
    /// <param name="targets">What it aims at (at least one; empty ranges are not allowed).</param>
    /// <param name="maxLength">Longest request in bytes (1 to 65536, default 256: one PCIe TLP).</param>
    /// <param name="historyLimit">Attempts kept in <see cref="Attempts"/> (the tallies count all).</param>
    /// <exception cref="ArgumentException">no targets, an empty target, or one that wraps past the top of the bus.</exception>
    public RogueDevice(IDmaPort port, Sbdf sbdf, ulong seed, IEnumerable<RogueTarget> targets, int maxLength = 256, int historyLimit = 1 << 16)
    {
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxLength, 65536);
        ArgumentOutOfRangeException.ThrowIfNegative(historyLimit);
        _targets = [.. targets];
        if (_targets.Length == 0)
        {
            throw new ArgumentException("a rogue device needs at least one target", nameof(targets));
        }

        if (Array.Exists(_targets, t => t.Length == 0 || t.BusAddress + (t.Length - 1) < t.BusAddress))
        {
            throw new ArgumentException("every target is a non-empty range that does not wrap", nameof(targets));
        }

        Dma = new DmaEngine(port, sbdf);
        Seed = seed;
        MaxLength = maxLength;
        HistoryLimit = historyLimit;
        _random = new SplitMix64(seed);
        _buffer = new byte[maxLength];
    }

    /// <inheritdoc/>
    public Sbdf Sbdf => Dma.Requester;

    /// <inheritdoc/>
    public DmaEngine Dma { get; }

    /// <summary>The DMA counters (bytes, transfers, faults).</summary>
    public DeviceCounters Counters => Dma.Counters;

    /// <summary>The seed every choice follows from.</summary>
    public ulong Seed { get; }

    /// <summary>Longest request in bytes.</summary>
    public int MaxLength { get; }

    /// <summary>How many attempts <see cref="Attempts"/> keeps (the first ones).</summary>
    public int HistoryLimit { get; }

    /// <summary>The targets, in the order given.</summary>
    public IReadOnlyList<RogueTarget> Targets => _targets;

    /// <summary>The first <see cref="HistoryLimit"/> attempts, in order.</summary>
    public IReadOnlyList<RogueAttempt> Attempts => _attempts;

    /// <summary>Attempts made so far.</summary>
    public long AttemptCount => _sequence;

    /// <summary>Attempts that got through, over every kind.</summary>
    public long Breaches => Enum.GetValues<RogueTargetKind>().Sum(k => Tally(k).Breaches);

    /// <summary>Attempts against targets of <paramref name="kind"/>.</summary>
    public RogueTally Tally(RogueTargetKind kind)
    {
        var breaches = _tally[(int)kind, 0];
        var faults = _tally[(int)kind, 1];
        return new RogueTally(breaches + faults, breaches, faults);
    }

    /// <summary>Makes one seeded attempt.</summary>
    public RogueAttempt Step()
    {
        var target = _targets[_random.Below((ulong)_targets.Length)];
        var access = (_random.Next() & 1) == 0 ? DmaAccess.Read : DmaAccess.Write;
        var offset = _random.Below(target.Length);
        var room = Math.Min((ulong)MaxLength, target.Length - offset);
        var length = (int)_random.Below(room) + 1;
        var address = target.BusAddress + offset;
        var buffer = _buffer.AsSpan(0, length);
        DmaResult result;
        if (access == DmaAccess.Read)
        {
            result = Dma.Read(address, buffer);
        }
        else
        {
            _random.Fill(buffer);
            result = Dma.Write(address, buffer);
        }

        var attempt = new RogueAttempt(_sequence++, target, access, address, length, result);
        _tally[(int)target.Kind, result.IsOk ? 0 : 1]++;
        if (_attempts.Count < HistoryLimit)
        {
            _attempts.Add(attempt);
        }

        return attempt;
    }

    /// <summary>Makes <paramref name="attempts"/> seeded attempts.</summary>
    /// <returns>How many got through.</returns>
    public int Run(int attempts)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(attempts);
        var breaches = 0;
        for (var i = 0; i < attempts; i++)
        {
            breaches += Step().Breached ? 1 : 0;
        }

        return breaches;
    }
}
