using System.Globalization;
using System.Text.Json;
using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Server.Client;

namespace PvIommu.Server.Conformance;

/// <summary>
/// What a rule works with: connections to the target, the host's description, toolstack
/// commands, and scratch domains that are destroyed (their devices given back) when the rule ends.
/// </summary>
public sealed class RuleContext : IDisposable
{
    private static int _sandboxes;
    private readonly List<Action> _undo = [];
    private readonly HashSet<ushort> _destroyed = [];
    private Vcpu? _hardware;

    internal RuleContext(IConformanceTarget target) => Target = target;

    /// <summary>The server under test.</summary>
    public IConformanceTarget Target { get; }

    /// <summary>A vCPU of the hardware domain (domid 0), connected on first use.</summary>
    public Vcpu Dom0 => _hardware ??= Connect(0);

    /// <summary>A new session as <paramref name="domid"/>, closed when the rule ends.</summary>
    public Vcpu Connect(ushort domid)
    {
        var vcpu = new Vcpu(WireClient.Connect(Target.Open(), domid));
        _undo.Add(vcpu.Dispose);
        return vcpu;
    }

    /// <summary>The host's description now.</summary>
    public HostView Host()
    {
        var (ret, json) = Dom0.Client.HostInfo();
        Expect(null, ret, "host info");
        return HostView.Parse(json);
    }

    /// <summary>Runs a toolstack command as the hardware domain and checks it succeeds.</summary>
    public JsonElement Toolstack(string command)
    {
        var (ret, json) = Dom0.Client.Toolstack(command);
        if (ret != 0)
        {
            throw new RuleFailedException($"toolstack {command} failed: {XenErrnos.Describe(ret)} {json}");
        }

        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    /// <summary>
    /// A fresh domain (16 MiB) made with toolstack commands, optionally with a device of the
    /// hardware domain assigned to it (one with a reserved region when <paramref name="device"/> says so).
    /// Destroyed, and the device given back, when the rule ends.
    /// </summary>
    public Sandbox NewDomain(string pvIommu = "on", SandboxDevice device = SandboxDevice.None, string kind = "pvh", bool iommu = true)
    {
        var name = string.Create(CultureInfo.InvariantCulture, $"conformance-{Interlocked.Increment(ref _sandboxes)}");
        var created = Toolstack($$"""{"op":"create_domain","name":"{{name}}","kind":"{{kind}}","memory_mib":16,"pv_iommu":"{{pvIommu}}","iommu":{{(iommu ? "true" : "false")}}}""");
        var domid = (ushort)created.GetProperty("domid").GetUInt32();
        DeviceView? assigned = null;

        // One undo for the domain: destroy it (its devices go to quarantine), then give them back.
        _undo.Add(() =>
        {
            if (_destroyed.Add(domid))
            {
                Toolstack($$"""{"op":"destroy_domain","domid":{{domid}}}""");
            }

            if (assigned is not null)
            {
                Toolstack($$"""{"op":"assign_device","sbdf":"{{assigned.Sbdf}}","domid":0}""");
            }
        });
        if (device != SandboxDevice.None)
        {
            var lent = Host().Devices.FirstOrDefault(d => d.Owner == 0 && (d.Reserved.Count > 0) == (device == SandboxDevice.WithReservedRegion))
                ?? throw new RuleFailedException($"the hardware domain has no device {(device == SandboxDevice.WithReservedRegion ? "with" : "without")} a reserved region to lend");
            Toolstack($$"""{"op":"make_assignable","sbdf":"{{lent.Sbdf}}"}""");
            assigned = lent;
            Toolstack($$"""{"op":"assign_device","sbdf":"{{lent.Sbdf}}","domid":{{domid}}}""");
        }

        var view = Host().Domain(domid) ?? throw new RuleFailedException($"d{domid} was created but host info does not list it");
        return new Sandbox(domid, Connect(domid), view, assigned);
    }

    /// <summary>Destroys a scratch domain now (its devices go to quarantine; they are given back when the rule ends).</summary>
    public void Destroy(Sandbox sandbox)
    {
        ArgumentNullException.ThrowIfNull(sandbox);
        if (_destroyed.Add(sandbox.Domid))
        {
            Toolstack($$"""{"op":"destroy_domain","domid":{{sandbox.Domid}}}""");
        }
    }

    /// <summary>Makes a device of the hardware domain assignable (quarantine) until the rule ends.</summary>
    public void Quarantine(DeviceView device)
    {
        ArgumentNullException.ThrowIfNull(device);
        Toolstack($$"""{"op":"make_assignable","sbdf":"{{device.Sbdf}}"}""");
        _undo.Add(() => Toolstack($$"""{"op":"assign_device","sbdf":"{{device.Sbdf}}","domid":0}"""));
    }

    /// <summary>A new scratch domain (PV-IOMMU on) that has run init, with a device when asked.</summary>
    public Sandbox NewInitialisedDomain(SandboxDevice device = SandboxDevice.None, uint maxCtx = 4, uint order = 8, string kind = "pvh")
    {
        var sandbox = NewDomain("on", device, kind);
        Expect(null, sandbox.Vcpu.Init(maxCtx, order), $"init({maxCtx}, {order}) of a fresh domain");
        return sandbox;
    }

    /// <summary>Checks a return value: 0 when <paramref name="expected"/> is null, else -expected.</summary>
    /// <returns>What was seen, for the report.</returns>
    public static string Expect(XenErrno? expected, int ret, string what)
    {
        var want = expected?.ToReturnValue() ?? 0;
        if (ret != want)
        {
            throw new RuleFailedException($"{what}: expected {XenErrnos.Describe(want)}, saw {XenErrnos.Describe(ret)}");
        }

        return XenErrnos.Describe(ret);
    }

    /// <summary>Checks a condition.</summary>
    public static void Check(bool condition, string what)
    {
        if (!condition)
        {
            throw new RuleFailedException(what);
        }
    }

    /// <summary>Undoes what the rule built, newest first.</summary>
    public void Dispose()
    {
        List<string> failures = [];
        for (var i = _undo.Count - 1; i >= 0; i--)
        {
            try
            {
                _undo[i]();
            }
            catch (Exception e) when (e is RuleFailedException or IOException or InvalidOperationException)
            {
                failures.Add(e.Message);
            }
        }

        _undo.Clear();
        if (failures.Count > 0)
        {
            throw new RuleFailedException(string.Join("; ", failures));
        }
    }
}

/// <summary>Which device, if any, a scratch domain gets.</summary>
public enum SandboxDevice
{
    /// <summary>No device.</summary>
    None,

    /// <summary>A device of the hardware domain without reserved regions.</summary>
    Plain,

    /// <summary>A device of the hardware domain with a reserved region (RMRR).</summary>
    WithReservedRegion,
}

/// <summary>A scratch domain of one rule.</summary>
/// <param name="Domid">Its id.</param>
/// <param name="Vcpu">A vCPU of it.</param>
/// <param name="View">How host info lists it.</param>
/// <param name="Device">Its device, if it got one.</param>
public sealed record Sandbox(ushort Domid, Vcpu Vcpu, DomainView View, DeviceView? Device)
{
    /// <summary>The first gfn of its RAM.</summary>
    public ulong Gfn => View.FirstRamGfn;

    /// <summary>Its device as the ABI carries it.</summary>
    public PciDevice Dev => Device?.Pci ?? throw new RuleFailedException($"d{Domid} has no device");
}
