using PvIommu.Hypervisor.Iommu;
using PvIommu.Hypervisor.Memory;
using PvIommu.Platform.Iommu;
using PvIommu.Platform.Memory;
using PvIommu.Platform.PageTables;
using PvIommu.Platform.Pci;

namespace PvIommu.Hypervisor.Tests.Model;

/// <summary>
/// The checks after every step: the host's state equals the model's (limits, contexts, devices,
/// every leaf of every table, arena and pool use, the p2m), every device's DMA translates as the
/// model says and reaches only what its owner may reach, and the host's books balance.
/// </summary>
internal static class HostAgreement
{
    /// <summary>Everything; <paramref name="touched"/> are the step's dfns, probed with their neighbours.</summary>
    public static void Check(Host host, PvIommuModel model, IEnumerable<ulong> touched, Random random, string where)
    {
        foreach (var d in model.Domains)
        {
            State(host, model, d, where);
        }

        Devices(host, model, touched, random, where);
        AssertAuditTerminates(host, model, where);
        var problems = host.Audit();
        Require(problems.Count == 0, () => $"{where}: audit: {string.Join("; ", problems)}");
    }

    /// <summary>Assert.True whose message is built only on failure (the checks run thousands of times a sequence).</summary>
    private static void Require(bool condition, Func<string> message)
    {
        if (!condition)
        {
            Assert.Fail(message());
        }
    }

    /// <summary>
    /// Host.Audit walks each context with TryNextMapped from dfn + leaf size, and TryNextMapped
    /// from past the last dfn wraps to dfn 0 (see <see cref="ModelFindingsTests"/>): with the last
    /// dfn mapped the audit never returns. Fail with the reason rather than hang the suite.
    /// </summary>
    private static void AssertAuditTerminates(Host host, PvIommuModel model, string where)
    {
        foreach (var d in model.Domains)
        {
            foreach (var context in d.Contexts.Values.Prepend(d.Default))
            {
                if (context.Table.IsMapped(model.MaxDfn))
                {
                    var table = host.GetDomain(d.Id).Iommu.Context(context.Number)!.Table;
                    Require(
                        !table.TryNextMapped(table.MaxDfn + 1, out _, out _),
                        () => $"{where}: d{d.Id} ctx {context.Number} maps the last dfn {model.MaxDfn:x}, and TryNextMapped past it wraps to dfn 0: Host.Audit would never return");
                }
            }
        }
    }

    private static void State(Host host, PvIommuModel model, ModelDomain d, string where)
    {
        var domain = host.GetDomain(d.Id);
        var iommu = domain.Iommu;
        var at = $"{where}: d{d.Id}";
        Require(d.Initialised == iommu.IsInitialised, () => $"{at}: initialised {iommu.IsInitialised}, model {d.Initialised}");
        Require((d.Initialised ? d.MaxCtx : 0) == iommu.MaxContexts, () => $"{at}: max contexts {iommu.MaxContexts}, model {d.MaxCtx}");
        if (d.Initialised)
        {
            Require(d.ArenaCapacity == iommu.Arena!.Capacity, () => $"{at}: arena of {iommu.Arena.Capacity} pages, model {d.ArenaCapacity}");
            Require(d.ArenaInUse == iommu.Arena.InUse, () => $"{at}: arena has {iommu.Arena.InUse} pages in use, model {d.ArenaInUse}");
        }

        var real = iommu.GuestContexts.ToList();
        Require(
            real.Select(c => c.Number).SequenceEqual(d.Contexts.Keys),
            () => $"{at}: contexts [{string.Join(",", real.Select(c => c.Number))}], model [{string.Join(",", d.Contexts.Keys)}]");
        foreach (var context in real)
        {
            var m = d.Contexts[context.Number];
            var kind = m.Kind == ModelContextKind.Identity ? ContextKind.Identity : ContextKind.Paging;
            Require(context.State == ContextState.Live && context.Kind == kind, () => $"{at} ctx {context.Number}: {context.State} {context.Kind}, model {m.Kind}");
            Context(context, m, $"{at} ctx {context.Number}");
        }

        Context(iommu.Default!, d.Default, $"{at} ctx 0");
        Require(d.Default.Table.Pages == iommu.DefaultPool!.InUse, () => $"{at}: context 0's pool has {iommu.DefaultPool.InUse} in use, model {d.Default.Table.Pages}");
        Require(domain.P2m.RamFrames == d.Ram.Count, () => $"{at}: {domain.P2m.RamFrames} RAM frames, model {d.Ram.Count}");
        foreach (var (gfn, mfn) in d.Ram)
        {
            var entry = domain.P2m.Lookup(gfn);
            Require(entry.Mfn.Value == mfn && Domains.P2m.IsRam(entry.Type), () => $"{at}: gfn {gfn:x} is {entry}, model mfn {mfn:x}");
        }
    }

    /// <summary>Devices and every leaf, in dfn order, equal the model's; table pages counted exactly.</summary>
    private static void Context(IommuContext real, ModelContext model, string at)
    {
        Require(real.Devices.SetEquals(model.Devices), () => $"{at}: devices [{string.Join(",", real.Devices)}], model [{string.Join(",", model.Devices)}]");
        var cursor = 0UL;
        var count = 0;
        while (real.Table.TryNextMapped(cursor, out var dfn, out var leaf))
        {
            count++;
            Require(
                model.Table.Leaves.TryGetValue(dfn, out var m) && m.Level == leaf.Level && m.Mfn == leaf.Mfn && m.Access == leaf.Access,
                () => $"{at}: dfn {dfn:x} maps mfn {leaf.Mfn:x} {leaf.Access} at level {leaf.Level}; model {(model.Table.Leaves.TryGetValue(dfn, out var x) ? x.ToString() : "nothing")}");
            cursor = dfn + PageLevel.Frames(leaf.Level);
            if (cursor > real.Table.MaxDfn)
            {
                // TryNextMapped past the last dfn starts again from dfn 0.
                break;
            }
        }

        Require(count == model.Table.Leaves.Count, () => $"{at}: {count} leaves, model {model.Table.Leaves.Count} (missing: {string.Join(",", model.Table.Leaves.Keys.Where(k => !real.Table.TryLookup(k, out _)).Take(8).Select(k => k.ToString("x")))})");
        Require(real.TablePages == model.Table.Pages, () => $"{at}: {real.TablePages} table pages, model {model.Table.Pages}");
    }

    /// <summary>
    /// For every requester ID of every device, a sample of dfns (the step's, leaves of its context,
    /// random ones, the reserved region): the DMA translation is what the model's context says,
    /// and whatever it reaches is a live frame of the device's owner (holding a reference), its
    /// MMIO, or a reserved region of its context — never a free frame or a page-table page.
    /// </summary>
    private static void Devices(Host host, PvIommuModel model, IEnumerable<ulong> touched, Random random, string where)
    {
        foreach (var (device, (dom, ctx)) in model.DeviceCtx)
        {
            var (owner, context) = host.DeviceState(device)!.Value;
            var at = $"{where}: {device}";
            Require(owner.Id == dom && context.Number == ctx, () => $"{at} is in d{owner.Id} ctx {context.Number}, model d{dom} ctx {ctx}");
            var d = model.Domains[dom];
            var table = d.Context(ctx)!.Table;
            var probes = Probes(table, d, touched, random).Where(p => p <= model.MaxDfn).Distinct().ToList();
            foreach (var rid in host.Machine.Topology.RequesterIds(device))
            {
                foreach (var dfn in probes)
                {
                    Probe(host, rid, dfn, table.Frame(dfn), d, context, at);
                }
            }
        }
    }

    private static IEnumerable<ulong> Probes(ModelTable table, ModelDomain d, IEnumerable<ulong> touched, Random random)
    {
        foreach (var dfn in touched)
        {
            yield return dfn;
        }

        var leaves = table.Leaves.ToList();
        for (var i = 0; i < 12 && leaves.Count > 0; i++)
        {
            var (first, leaf) = leaves[random.Next(leaves.Count)];
            yield return first;
            yield return first + leaf.Frames - 1;
            yield return first + (ulong)random.NextInt64((long)leaf.Frames);
        }

        for (var i = 0; i < 6; i++)
        {
            yield return (ulong)random.Next(0x1000);
            yield return d.RamFirst + (ulong)random.NextInt64((long)d.RamFrames + 64);
        }

        yield return 0x7F000 + (ulong)random.Next(16);
        yield return 0x7F000 - 1;
        yield return 0x7F010;
    }

    private static void Probe(Host host, Sbdf rid, ulong dfn, (ulong Mfn, ulong Gfn, PteAccess Access)? expected, ModelDomain d, IommuContext context, string device)
    {
        var at = new Lazy<string>(() => $"{device} (rid {rid}) dfn {dfn:x}");
        foreach (var access in (ReadOnlySpan<DmaAccess>)[DmaAccess.Read, DmaAccess.Write])
        {
            var result = host.Machine.Translate(rid, dfn << 12, access);
            var need = access == DmaAccess.Read ? PteAccess.Read : PteAccess.Write;
            var allowed = expected is { } e && (e.Access & need) != 0;
            Require(result.IsOk == allowed, () => $"{at.Value} {access}: {result.Reason}, model {(expected is { } f ? $"mfn {f.Mfn:x} {f.Access}" : "unmapped")}");
            if (!result.IsOk)
            {
                continue;
            }

            var mfn = result.Mfn.Value;
            Require(mfn == expected!.Value.Mfn, () => $"{at.Value} {access}: reaches mfn {mfn:x}, model {expected.Value.Mfn:x}");
            var owned = host.Frames.OwnerOf(result.Mfn) == d.Id && host.Frames.CountOf(result.Mfn) > 0;
            var mmio = d.Mmio.ContainsValue(mfn);
            var reserved = context.ReservedRegions.Keys.Any(r => r.Contains(new Dfn(mfn)));
            Require(owned || mmio || reserved, () => $"{at.Value} {access}: reaches mfn {mfn:x} (owner {host.Frames.OwnerOf(result.Mfn)}, count {host.Frames.CountOf(result.Mfn)}): not d{d.Id}'s");
            var inHeap = mfn >= Toolstack.DefaultHost.HeapFirst;
            Require(!inHeap || host.Frames.CountOf(result.Mfn) > 0, () => $"{at.Value} {access}: reaches free heap frame {mfn:x}");
            Require(host.Frames.OwnerOf(result.Mfn) != FrameTable.NoOwner || !inHeap, () => $"{at.Value}: reaches a heap frame nobody owns (a table page?) {mfn:x}");
        }
    }
}
