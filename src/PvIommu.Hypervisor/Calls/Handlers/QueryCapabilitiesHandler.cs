using PvIommu.Abi;
using PvIommu.Abi.Structs;

namespace PvIommu.Hypervisor.Calls.Handlers;

/// <summary>query_capabilities (1), spec §3.</summary>
internal static class QueryCapabilitiesHandler
{
    /// <summary>The capability bits this project sets (spec §2): 1, 4, 5, 6, and 0 unless no-dma.</summary>
    public const CapFlags Advertised = CapFlags.Cache | CapFlags.Identity | CapFlags.DeferredFlush | CapFlags.Lookup;

    public static Outcome Run(CallContext call, Span<byte> argument)
    {
        var target = call.Target;
        var caps = new Capabilities
        {
            MaxIovaAddr = call.Host.MaxIovaAddress,
            CapFlags = Advertised | (target.Config.NoDma ? 0 : CapFlags.DefaultIdentity),
            PgsizeMask = call.Host.PgsizeMask,
            MaxPasid = 0,
            MaxCtxNo = target.Iommu.MaxContexts,
        };
        caps.Write(argument);
        return Outcome.Ok;
    }
}
