using System.Buffers;
using PvIommu.Abi;
using PvIommu.Server.Json;

namespace PvIommu.Server.Sessions;

/// <summary>Kinds 5 and 6: host info and toolstack commands, as UTF-8 JSON.</summary>
internal sealed partial class Session
{
    private int HostInfo(ReadOnlySpan<byte> payload, ref Response response)
    {
        if (!payload.IsEmpty)
        {
            return XenErrno.EFAULT.ToReturnValue();
        }

        var json = new ArrayBufferWriter<byte>(4096);
        HostInfoWriter.Write(Host, _service.ActiveSessions, json);
        json.WrittenSpan.CopyTo(response.Payload(json.WrittenCount));
        return 0;
    }

    /// <summary>Hardware domain only (-EPERM otherwise, with an error object).</summary>
    private int Toolstack(ReadOnlySpan<byte> payload, ref Response response)
    {
        var json = new ArrayBufferWriter<byte>(256);
        int ret;
        if (!Domain.IsHardwareDomain)
        {
            ToolstackCommands.WriteError(json, XenErrno.EPERM, "toolstack commands are for the hardware domain only");
            ret = XenErrno.EPERM.ToReturnValue();
        }
        else
        {
            using (_service.Gate.EnterCall())
            {
                ret = ToolstackCommands.Run(Host, payload, json);
            }
        }

        json.WrittenSpan.CopyTo(response.Payload(json.WrittenCount));
        return ret;
    }
}
