using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using PvIommu.Platform.Memory;

namespace PvIommu.Platform.PageTables;

/// <summary>
/// A fixed, contiguous block of machine frames handed out one at a time as page-table pages:
/// Xen's per-domain PV-IOMMU arena (2^order pages taken whole at init). It refuses when empty,
/// and keeps each page's bookkeeping (its words, its count of live entries) beside it so the
/// table engine needs no map from frame to metadata. When the block's chunks of machine memory
/// are still unbacked, the pool has them backed as one native block (<see cref="IsContiguous"/>),
/// so that a lookup finds the next table with an add instead of a pointer load.
/// </summary>
/// <remarks>Not thread-safe: the owner (a domain's IOMMU state) serialises access.</remarks>
public sealed unsafe class TablePool
{
    private readonly MachineMemory _memory;
    private readonly int[] _free;
    private readonly ushort[] _used;
    private readonly nint[] _words;
    private int _freeCount;

    /// <summary>A pool over frames <paramref name="first"/> .. first + <paramref name="pages"/> - 1.</summary>
    public TablePool(MachineMemory memory, Mfn first, int pages, FaultInjector? faults = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pages, 1);
        if (!memory.Contains(first + (ulong)(pages - 1)))
        {
            throw new ArgumentOutOfRangeException(nameof(pages), "pool beyond host memory");
        }

        _memory = memory;
        First = first;
        Capacity = pages;
        Faults = faults ?? new FaultInjector();
        _free = new int[pages];
        _used = new ushort[pages];
        _words = new nint[pages];
        for (var i = 0; i < pages; i++)
        {
            _free[i] = pages - 1 - i;
        }

        _freeCount = pages;
        var block = memory.TryBackContiguous(first, pages);
        if (block is not null)
        {
            // Frame f of the block lies at Bias + f * 4 KiB: an entry's address field added to
            // Bias is the host address of the table it points at.
            Bias = (nint)block - (nint)(first.Value << Frame.Shift);
            IsContiguous = true;
        }
    }

    /// <summary>Whether the block's frames lie at consecutive host addresses (see <see cref="Bias"/>).</summary>
    internal bool IsContiguous { get; }

    /// <summary>When <see cref="IsContiguous"/>: the host address of frame 0 were the block to extend
    /// down to it, so that a frame's host address is <c>Bias + (mfn &lt;&lt; 12)</c>.</summary>
    internal nint Bias { get; }

    /// <summary>The first frame of the block.</summary>
    public Mfn First { get; }

    /// <summary>Pages in the block.</summary>
    public int Capacity { get; }

    /// <summary>Pages currently free.</summary>
    public int Free => _freeCount;

    /// <summary>Pages currently used as tables.</summary>
    public int InUse => Capacity - _freeCount;

    /// <summary>Most pages ever in use at once.</summary>
    public int Peak { get; private set; }

    /// <summary>Where tests make the n-th take fail.</summary>
    public FaultInjector Faults { get; }

    /// <summary>Takes a zeroed page; false when the pool is empty (or a fault is injected).</summary>
    public bool TryTake(out int page)
    {
        if (_freeCount == 0 || Faults.ShouldFail())
        {
            page = -1;
            return false;
        }

        page = _free[--_freeCount];
        _used[page] = 0;
        var words = _memory.WordsPointer(First + (ulong)page);
        _words[page] = (nint)words;

        // The page is zero already. Touching it first with a write makes its first use one page
        // fault: a table is read before it is written, and a read first would map the shared zero
        // page, then fault again to copy it on the write.
        *words = 0;
        if (InUse > Peak)
        {
            Peak = InUse;
        }

        return true;
    }

    /// <summary>
    /// Returns a page. Its frame is zeroed at once, so no walk can find a stale entry in it,
    /// and keeps its storage: the page stays reserved to this pool.
    /// </summary>
    public void Give(int page)
    {
        if ((uint)page >= (uint)Capacity || _words[page] == 0)
        {
            throw new InvalidOperationException($"page {page} is not a live table page of this pool");
        }

        new Span<ulong>((void*)_words[page], Frame.Words).Clear();
        _words[page] = 0;
        _free[_freeCount++] = page;
    }

    /// <summary>The machine frame of a page.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Mfn MfnOf(int page) => First + (ulong)page;

    /// <summary>The page holding machine frame <paramref name="mfn"/>, or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int PageOf(ulong mfn)
    {
        var page = mfn - First.Value;
        return page < (ulong)Capacity ? (int)page : -1;
    }

    /// <summary>Whether <paramref name="mfn"/> lies in this pool's block.</summary>
    public bool Owns(Mfn mfn) => PageOf(mfn.Value) >= 0;

    /// <summary>The 512 entries of a live page. <paramref name="page"/> must come from
    /// <see cref="TryTake"/> or <see cref="PageOf"/> (both range-checked), so the read skips the bounds check.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ulong* Words(int page) => (ulong*)Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_words), page);

    /// <summary>The first of the page pointers <see cref="Words"/> reads (a walk's hot loop indexes it itself).</summary>
    internal ref nint Pointers => ref MemoryMarshal.GetArrayDataReference(_words);

    /// <summary>Live entries in a live page.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ref ushort Used(int page) => ref _used[page];
}
