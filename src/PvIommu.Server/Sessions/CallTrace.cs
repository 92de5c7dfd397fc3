using System.Diagnostics;
using System.Globalization;
using PvIommu.Abi;

namespace PvIommu.Server.Sessions;

/// <summary>
/// <c>--trace</c>: one line per call on the trace writer (standard error for <c>pviommu serve</c>):
/// connection, domain, what was asked, the result and the time the server spent on it.
/// </summary>
/// <remarks>
/// <code>
/// trace c3 d0 hypercall map_pages ret=0 4.2us
/// trace c3 d0 hypercall remote_cmd(d1 init) ret=-EACCES 1.1us
/// trace c4 d1 dma 0000:01:00.0 read 0x1000+4096 ret=-EIO fault=1@0x1000 3.0us
/// </code>
/// </remarks>
internal sealed class CallTrace(TextWriter writer)
{
    private readonly Lock _lock = new();

    /// <summary>Writes one line.</summary>
    public void Line(string text)
    {
        lock (_lock)
        {
            writer.WriteLine(text);
            writer.Flush();
        }
    }

    /// <summary>Writes a call's line.</summary>
    public void Call(int connection, ushort domid, string what, int ret, long startTimestamp, string? detail = null)
    {
        var micros = Stopwatch.GetElapsedTime(startTimestamp).TotalMicroseconds;
        Line(string.Create(
            CultureInfo.InvariantCulture,
            $"trace c{connection} d{domid} {what} ret={XenErrnos.Describe(ret)}{(detail is null ? string.Empty : " " + detail)} {micros:0.0}us"));
    }
}
