using PvIommu.Abi;
using PvIommu.Platform.Iommu;
using PvIommu.Platform.Pci;
using PvIommu.Server.Wire;

namespace PvIommu.Server.Sessions;

/// <summary>
/// Kind 4: a PCI device does DMA through the IOMMU, as hardware would: its requester ID (after
/// bridge aliasing) picks the context entry, the unit translates every 4 KiB piece, and a
/// refused piece stops the whole transfer with one fault record and nothing moved.
/// </summary>
internal sealed partial class Session
{
    private int DeviceDma(ReadOnlySpan<byte> payload, ref Response response)
    {
        if (payload.Length < DmaRequest.Size)
        {
            return XenErrno.EFAULT.ToReturnValue();
        }

        var request = DmaRequest.Read(payload);
        var data = payload[DmaRequest.Size..];
        if (request.Reserved != 0 || (request.Flags & ~DmaFlags.DeviceWrites) != 0 || request.Len > WireFormat.MaxResponsePayload)
        {
            return XenErrno.EINVAL.ToReturnValue();
        }

        if ((ulong)data.Length != (request.DeviceWrites ? request.Len : 0))
        {
            return XenErrno.EFAULT.ToReturnValue();
        }

        var requester = Sbdf.FromDevFn(request.Segment, request.Bus, request.DevFn);
        if (MayDoDma(requester) is { } refused)
        {
            return refused.ToReturnValue();
        }

        DmaResult result;
        var fault = response.Payload(request.DeviceWrites ? DmaFault.Size : Math.Max((int)request.Len, DmaFault.Size));
        using (_service.Gate.EnterDma())
        {
            result = request.DeviceWrites
                ? Host.Machine.Write(requester, request.Address, data)
                : Host.Machine.Read(requester, request.Address, fault[..(int)request.Len]);
        }

        if (result.IsOk)
        {
            response.Truncate(request.DeviceWrites ? 0 : (int)request.Len);
            return 0;
        }

        new DmaFault(result.FaultAddress, (uint)result.Reason).Write(fault);
        response.Truncate(DmaFault.Size);
        response.Detail = $"fault={(uint)result.Reason}@0x{result.FaultAddress:x}";
        return XenErrno.EIO.ToReturnValue();
    }

    /// <summary>
    /// The device (a function, or a phantom function of one) must be assigned to this domain,
    /// else -EPERM; the hardware domain may use every device, and gets -ENODEV for one that
    /// does not exist.
    /// </summary>
    private XenErrno? MayDoDma(Sbdf requester)
    {
        var state = Host.Machine.Topology.OwnerOf(requester) is { IsBridge: false } function ? Host.DeviceState(function.Sbdf) : null;
        if (Domain.IsHardwareDomain)
        {
            return state is null ? XenErrno.ENODEV : null;
        }

        return state is { } s && ReferenceEquals(s.Owner, Domain) ? null : XenErrno.EPERM;
    }
}
