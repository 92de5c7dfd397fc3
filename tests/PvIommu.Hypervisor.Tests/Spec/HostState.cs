using System.Text;
using PvIommu.Hypervisor.Domains;
using PvIommu.Hypervisor.Iommu;

namespace PvIommu.Hypervisor.Tests.Spec;

/// <summary>
/// Everything a PV-IOMMU call can change, as text: heap, limits, arenas, contexts with every leaf
/// of the guest contexts, device placement and the hardware context entries. Two captures around
/// a failed call must be equal (spec §3: "a failed call changes nothing"; style habit 8).
/// </summary>
internal static class HostState
{
    public static string Capture(Host host)
    {
        var text = new StringBuilder();
        text.Append("heap free ").Append(host.Heap.FreeFrames).AppendLine();
        foreach (var domain in host.Domains.Append(host.DomIo))
        {
            Describe(text, domain);
        }

        foreach (var function in host.Machine.Topology.Functions.Where(f => !f.IsBridge))
        {
            var state = host.DeviceState(function.Sbdf);
            text.Append(function.Sbdf).Append(" in ").Append(state?.Owner.ToString() ?? "-").Append(' ').Append(state?.Context.ToString() ?? "-");
            foreach (var rid in host.Machine.Topology.RequesterIds(function.Sbdf))
            {
                text.Append(" [").Append(rid).Append(": ").Append(host.Hardware.ContextOf(rid)).Append(']');
            }

            text.AppendLine();
        }

        return text.ToString();
    }

    /// <summary>Asserts that <paramref name="action"/> left the host exactly as it was, and balanced.</summary>
    public static void AssertUnchangedBy(Host host, Action action)
    {
        var before = Capture(host);
        action();
        Assert.Equal(before, Capture(host));
        Assert.Empty(host.Audit());
    }

    private static void Describe(StringBuilder text, Domain domain)
    {
        var iommu = domain.Iommu;
        text.Append(domain).Append(": policy ").Append(domain.Policy)
            .Append(" init ").Append(iommu.IsInitialised)
            .Append(" max ").Append(iommu.MaxContexts)
            .Append(" arena ").Append(iommu.Arena?.InUse).Append('/').Append(iommu.Arena?.Capacity)
            .Append(" ram ").Append(domain.P2m.RamFrames)
            .Append(" devices [").Append(string.Join(", ", domain.Devices)).Append(']').AppendLine();
        foreach (var context in iommu.AllContexts)
        {
            text.Append("  ").Append(context).Append(' ').Append(context.State)
                .Append(" tables ").Append(context.TablePages)
                .Append(" frames ").Append(context.MappedFrames)
                .Append(" devices [").Append(string.Join(", ", context.Devices)).Append(']')
                .Append(" reserved [").Append(string.Join(", ", context.ReservedRegions.Select(r => $"{r.Key}x{r.Value}"))).Append(']').AppendLine();
            if (context.Number != 0)
            {
                Leaves(text, context);
            }
        }
    }

    private static void Leaves(StringBuilder text, IommuContext context)
    {
        var cursor = 0UL;
        while (context.Table.TryNextMapped(cursor, out var dfn, out var leaf))
        {
            text.Append("    ").Append(dfn.ToString("x")).Append(" -> ").Append(leaf.Mfn.ToString("x"))
                .Append(' ').Append(leaf.Access).Append(" L").Append(leaf.Level).AppendLine();
            cursor = dfn + Platform.PageTables.PageLevel.Frames(leaf.Level);
            if (cursor > context.Table.MaxDfn)
            {
                // Past the last dfn, TryNextMapped wraps to the start of the table.
                break;
            }
        }
    }
}
