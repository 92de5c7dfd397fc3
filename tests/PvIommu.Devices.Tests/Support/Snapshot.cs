using PvIommu.Platform.Memory;

namespace PvIommu.Devices.Tests.Support;

/// <summary>The bytes of chosen frames at one moment, to prove later that DMA left them alone.</summary>
internal sealed class Snapshot
{
    private readonly MachineMemory _memory;
    private readonly Dictionary<ulong, byte[]> _frames = [];

    public Snapshot(MachineMemory memory, IEnumerable<ulong> frames)
    {
        _memory = memory;
        foreach (var frame in frames.Distinct())
        {
            var bytes = new byte[Frame.Size];
            memory.Read(new Mfn(frame), 0, bytes);
            _frames[frame] = bytes;
        }
    }

    public int Count => _frames.Count;

    /// <summary>Frames whose bytes differ now.</summary>
    public IReadOnlyList<ulong> Changed()
    {
        var now = new byte[Frame.Size];
        var changed = new List<ulong>();
        foreach (var (frame, before) in _frames)
        {
            _memory.Read(new Mfn(frame), 0, now);
            if (!now.AsSpan().SequenceEqual(before))
            {
                changed.Add(frame);
            }
        }

        return changed;
    }

    /// <summary>Every 64th frame of a range, plus its first and last: a cheap sample.</summary>
    public static IEnumerable<ulong> Sample(ulong first, ulong count, ulong stride = 64)
    {
        for (var f = first; f < first + count; f += stride)
        {
            yield return f;
        }

        yield return first + count - 1;
    }
}
