using System.Runtime.CompilerServices;
using PvIommu.Platform.Memory;
using PvIommu.Platform.PageTables;
using PvIommu.Platform.Pci;

namespace PvIommu.Platform.Iommu;

/// <summary>Translation of one 4 KiB piece: context, width, IOTLB or walk, rights, host memory.</summary>
public sealed partial class IommuUnit
{
    /// <summary>
    /// Translates one bus address for <paramref name="requester"/> as a DMA would (context cache,
    /// IOTLB, walk and fill), but records no fault: like an ATS translation request, the answer
    /// carries the outcome instead.
    /// </summary>
    public TranslationResult Translate(Sbdf requester, ulong busAddress, DmaAccess access)
    {
        var context = ContextFor(requester);
        var reason = TranslateFrame(context, busAddress >> Frame.Shift, access, out var leaf);
        return reason == FaultReason.None
            ? new TranslationResult(FaultReason.None, leaf.Mfn, leaf.Access, leaf.Level, leaf.Mfn.Address | (busAddress & (Frame.Size - 1)))
            : TranslationResult.Fault(reason);
    }

    /// <summary>The hot path: a few array reads on an IOTLB hit, no allocation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private FaultReason TranslateFrame(in DeviceContext context, ulong dfn, DmaAccess access, out IotlbHit leaf)
    {
        _translations++;
        if (context.Translation == DeviceTranslation.Translated)
        {
            if ((dfn >> (PageLevel.Bits * context.Levels)) != 0)
            {
                leaf = default;
                return FaultReason.BeyondWidth;
            }

            if (!Iotlb.TryLookup(context.DomainId, dfn, out leaf) && !WalkAndFill(context, dfn, out leaf))
            {
                return FaultReason.NotMapped;
            }
        }
        else if (context.Translation == DeviceTranslation.PassThrough)
        {
            leaf = new IotlbHit(new Mfn(dfn), PteAccess.ReadWrite, 0);
        }
        else
        {
            leaf = default;
            return FaultReason.Blocked;
        }

        if (access == DmaAccess.Write ? (leaf.Access & PteAccess.Write) == 0 : (leaf.Access & PteAccess.Read) == 0)
        {
            return access == DmaAccess.Write ? FaultReason.WriteNotPermitted : FaultReason.ReadNotPermitted;
        }

        // A leaf (or an identity address) past the end of host memory reaches nothing.
        return leaf.Mfn.Value < _memory.FrameCount ? FaultReason.None : FaultReason.NotMapped;
    }

    /// <summary>
    /// An IOTLB miss: the context's table is walked (from the cached level-1 table when the
    /// paging-structure cache has the region's, one word read); a present leaf is cached whatever
    /// its rights, as hardware does, and so is the level-1 table a full walk reached.
    /// </summary>
    private bool WalkAndFill(in DeviceContext context, ulong dfn, out IotlbHit leaf)
    {
        _walks++;
        var walk = Format == PageTableFormat.VtdSecondLevel ? Walk<VtdSecondLevel>(context, dfn) : Walk<AmdV1>(context, dfn);
        _walkSteps += walk.Steps;
        if (!walk.Found)
        {
            leaf = default;
            return false;
        }

        Iotlb.Fill(context.DomainId, dfn, walk.Mfn, walk.Access, walk.Level);
        leaf = new IotlbHit(walk.Mfn, walk.Access, walk.Level);
        return true;
    }

    private PageWalk Walk<TFormat>(in DeviceContext context, ulong dfn)
        where TFormat : struct, IPteFormat
    {
        if (Iotlb.TryFindLeafTable(context.DomainId, dfn, out var table, out var rights))
        {
            return PageWalker.WalkLeafTable<TFormat>(_memory, table, dfn, rights, steps: 1);
        }

        var walk = PageWalker.Walk<TFormat>(_memory, context.Root, context.Levels, dfn, out var leafTable, out var tableRights);
        if (leafTable is { } reached)
        {
            Iotlb.FillLeafTable(context.DomainId, dfn, reached, tableRights);
        }

        return walk;
    }
}
