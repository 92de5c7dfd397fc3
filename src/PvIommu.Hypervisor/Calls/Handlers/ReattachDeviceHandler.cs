using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Platform.Pci;

namespace PvIommu.Hypervisor.Calls.Handlers;

/// <summary>reattach_device (5), spec §3: move a device (and its phantom functions) between contexts, all or nothing.</summary>
internal static class ReattachDeviceHandler
{
    public static Outcome Run(CallContext call, Span<byte> argument)
    {
        var op = ReattachDevice.Read(argument);
        op.Write(argument);
        if (op.Pasid != 0)
        {
            return XenErrno.EINVAL;
        }

        var device = Sbdf.FromDevFn(op.Dev.Seg, op.Dev.Bus, op.Dev.DevFn);
        if (call.Host.DeviceState(device) is not { } state || !ReferenceEquals(state.Owner, call.Target))
        {
            return XenErrno.ENODEV;
        }

        var iommu = call.Target.Iommu;
        var target = op.CtxNo == 0 ? iommu.Default : iommu.LiveContext(op.CtxNo);
        if (target is null)
        {
            return XenErrno.ENOENT;
        }

        return Outcome.From(call.Host.MoveDevice(device, call.Target, target));
    }
}
