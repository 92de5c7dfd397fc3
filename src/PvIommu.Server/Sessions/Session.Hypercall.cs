namespace PvIommu.Server.Sessions;

/// <summary>Kind 1: an <c>iommu_op</c> hypercall.</summary>
internal sealed partial class Session
{
    /// <summary>
    /// Runs the sub-op on the payload, copied into the response: the hypervisor writes its OUT
    /// fields there (also on failure), so the response carries the struct(s) after the call,
    /// as many bytes as were sent. The dispatcher checks the size (-EFAULT), the entry gate,
    /// the rights and the sub-op number; for remote_cmd the payload is the remote struct followed
    /// by the inner struct, exactly as the dispatcher takes it.
    /// </summary>
    private int Hypercall(ushort subOp, ReadOnlySpan<byte> payload, ref Response response)
    {
        var argument = response.Payload(payload.Length);
        payload.CopyTo(argument);
        using (_service.Gate.EnterCall())
        {
            return Host.Dispatcher.IommuOp(Domain, subOp, argument);
        }
    }
}
