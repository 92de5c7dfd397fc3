using PvIommu.Hypervisor;
using PvIommu.Hypervisor.Domains;
using PvIommu.Platform.Memory;

namespace PvIommu.Simulation.Build;

/// <summary>
/// A domain's RAM as its kernel sees it: a page allocator over its gfns (contiguous, aligned runs
/// for big buffers; single pages recycled) and CPU access to those pages (through the p2m into
/// machine memory), which is how a driver writes descriptors and reads what a device wrote.
/// </summary>
internal sealed class GuestMemory
{
    private readonly ulong[] _gfns;
    private readonly Stack<ulong> _free = new();
    private readonly Domain _domain;
    private readonly MachineMemory _memory;
    private int _next;

    public GuestMemory(Host host, Domain domain)
    {
        _domain = domain;
        _memory = host.Machine.Memory;
        _gfns = [.. domain.P2m.Entries().Where(e => P2m.IsRam(e.Entry.Type)).Select(e => e.Gfn).Order()];

        // Keep the first 16 MiB for the "kernel" (never handed to drivers), as a real guest would.
        _next = Math.Min(_gfns.Length, 4096);
    }

    public Domain Domain => _domain;

    public long PagesInUse => _next - _free.Count;

    public ulong FirstGfn => _gfns.Length > 0 ? _gfns[0] : 0;

    /// <summary>One page (a recycled one first).</summary>
    public ulong AllocatePage()
    {
        if (_free.Count > 0)
        {
            return _free.Pop();
        }

        if (_next >= _gfns.Length)
        {
            throw new SimulationException($"{_domain} is out of RAM for the simulated drivers: give it more memory");
        }

        return _gfns[_next++];
    }

    public void FreePage(ulong gfn) => _free.Push(gfn);

    /// <summary><paramref name="pages"/> pages contiguous in gfns, the first aligned to <paramref name="alignPages"/>.</summary>
    public ulong AllocateContiguous(ulong pages, ulong alignPages = 1)
    {
        for (var i = _next; i + (long)pages <= _gfns.Length; i++)
        {
            var start = _gfns[i];
            if (start % alignPages != 0)
            {
                continue;
            }

            var contiguous = _gfns[i + (int)pages - 1] == start + pages - 1;
            if (contiguous)
            {
                // Pages skipped for alignment go on the free list rather than being lost.
                for (var j = _next; j < i; j++)
                {
                    _free.Push(_gfns[j]);
                }

                _next = i + (int)pages;
                return start;
            }
        }

        throw new SimulationException($"{_domain} has no {pages} contiguous pages left for the simulated drivers: give it more memory");
    }

    public Mfn MfnOf(ulong gfn) => _domain.P2m.Lookup(gfn).Mfn;

    public void Write(ulong gfn, int offset, ReadOnlySpan<byte> bytes) => _memory.Write(MfnOf(gfn), offset, bytes);

    public void Read(ulong gfn, int offset, Span<byte> bytes) => _memory.Read(MfnOf(gfn), offset, bytes);
}
