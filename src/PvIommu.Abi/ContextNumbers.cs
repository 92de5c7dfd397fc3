namespace PvIommu.Abi;

/// <summary>Context numbers with a fixed meaning (spec §3 init), and the init limits.</summary>
public static class ContextNumbers
{
    /// <summary>Context 0: the domain's Xen-managed default context.</summary>
    public const ushort DefaultContext = 0;

    /// <summary>0xFFFF: "no context" (a device attached nowhere); never allocated.</summary>
    public const ushort NoContext = 0xFFFF;

    /// <summary>The largest <c>max_ctx_no</c> init accepts: every u16 but 0 and <see cref="NoContext"/>.</summary>
    public const uint MaxContexts = NoContext - 1;

    /// <summary>The largest <c>arena_order</c> init accepts (a 2^20-page arena).</summary>
    public const uint MaxArenaOrder = 20;
}
