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

    /// <summary>An IOTLB miss: walk the context's table; cache a present leaf whatever its rights, as hardware does.</summary>
    private bool WalkAndFill(in DeviceContext context, ulong dfn, out IotlbHit leaf)
    {
        _walks++;
        var walk = Format == PageTableFormat.VtdSecondLevel
            ? PageWalker.Walk<VtdSecondLevel>(_memory, context.Root, context.Levels, dfn)
            : PageWalker.Walk<AmdV1>(_memory, context.Root, context.Levels, dfn);
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
}
