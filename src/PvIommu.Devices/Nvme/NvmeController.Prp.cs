using System.Buffers.Binary;

namespace PvIommu.Devices.Nvme;

public sealed partial class NvmeController
{
    private const int EntriesPerListPage = PageSize / sizeof(ulong);
    private readonly List<(ulong Address, int Length)> _segments = [];
    private readonly byte[] _prpList = new byte[PageSize];

    /// <summary>
    /// Turns PRP1/PRP2 into the data's segments (one per memory page), reading PRP list pages
    /// by DMA as needed (§4.3). Fills <see cref="_segments"/>.
    /// </summary>
    private NvmeStatus BuildSegments(ulong prp1, ulong prp2, int bytes)
    {
        _segments.Clear();
        if ((prp1 & 0x3) != 0)
        {
            return NvmeStatus.PrpOffsetInvalid;
        }

        var first = Math.Min(bytes, PageSize - (int)(prp1 & (PageSize - 1)));
        _segments.Add((prp1, first));
        var remaining = bytes - first;
        if (remaining == 0)
        {
            return NvmeStatus.Success;
        }

        if (remaining <= PageSize)
        {
            // PRP2 is the second page itself.
            if ((prp2 & (PageSize - 1)) != 0)
            {
                return NvmeStatus.PrpOffsetInvalid;
            }

            _segments.Add((prp2, remaining));
            return NvmeStatus.Success;
        }

        return WalkList(prp2, remaining);
    }

    /// <summary>Reads the PRP list at <paramref name="list"/>, chaining through the last entry of each list page.</summary>
    private NvmeStatus WalkList(ulong list, int remaining)
    {
        // A list pointer in the last slot of a page holds nothing but a chain pointer, so a
        // chain can loop without supplying entries: give up after more list pages than a
        // transfer of this size could ever need.
        for (var pages = 0; remaining > 0; pages++)
        {
            if ((list & 0x7) != 0)
            {
                return NvmeStatus.PrpOffsetInvalid;
            }

            var needed = (remaining + PageSize - 1) / PageSize;
            var slots = (PageSize - (int)(list & (PageSize - 1))) / sizeof(ulong);
            if (pages > needed + EntriesPerListPage)
            {
                return NvmeStatus.InvalidField;
            }

            var chains = needed > slots;
            var take = chains ? slots - 1 : needed;
            var raw = _prpList.AsSpan(0, (take + (chains ? 1 : 0)) * sizeof(ulong));
            _prpListFetches++;
            if (!Dma.Read(list, raw).IsOk)
            {
                return NvmeStatus.DataTransferError;
            }

            for (var i = 0; i < take; i++)
            {
                var page = BinaryPrimitives.ReadUInt64LittleEndian(raw[(i * sizeof(ulong))..]);
                if ((page & (PageSize - 1)) != 0)
                {
                    return NvmeStatus.PrpOffsetInvalid;
                }

                var length = Math.Min(PageSize, remaining);
                _segments.Add((page, length));
                remaining -= length;
            }

            if (chains)
            {
                list = BinaryPrimitives.ReadUInt64LittleEndian(raw[(take * sizeof(ulong))..]);
            }
        }

        return NvmeStatus.Success;
    }
}
