using PvIommu.Hypervisor.Domains;
using PvIommu.Platform.Pci;
using PvIommu.Tests.Shared;

namespace PvIommu.Simulation.Tests;

/// <summary>
/// <see cref="ScenarioHost"/>: the host of a scenario file without its workloads, what
/// <c>pviommu serve --host</c> serves; a bad file is a value with its file and line.
/// </summary>
public sealed class ScenarioHostTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("pviommu-scenario-host-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void BootFile_DefaultExample_Dom0IsZeroAndTheDomUHoldsItsNic()
    {
        var outcome = ScenarioHost.BootFile(Path.Combine(RepositoryRoot.Folder, "examples", "default.toml"));

        Assert.True(outcome.IsOk, outcome.Error?.ToString());
        var host = outcome.Host!;
        Assert.Equal("default", outcome.Scenario!.Name);
        var domains = host.Domains.ToList();
        Assert.Equal(new ushort[] { 0, 1 }, domains.Select(d => d.Id));
        var dom0 = domains[0];
        Assert.True(dom0.IsHardwareDomain);
        Assert.Equal(DomainKind.Pv, dom0.Kind);
        Assert.Equal(2048L * 256, dom0.P2m.RamFrames);
        Assert.Equal(new[] { "0000:00:02.0", "0000:00:03.0", "0000:00:04.0", "0000:00:05.0" }, dom0.Devices.Select(d => d.ToString()));
        var domU = domains[1];
        Assert.Equal(("domu", DomainKind.Pvh, PvIommuPolicy.CapsOnly), (domU.Name, domU.Kind, domU.Policy));
        Assert.Same(domU, host.DeviceState(Sbdf.Parse("01:00.0"))!.Value.Owner);
        Assert.Empty(host.Audit());
    }

    [Fact]
    public void BootFile_Workloads_DoNotRun_AndNoDriverIsProbed()
    {
        var outcome = ScenarioHost.BootFile(Path.Combine(RepositoryRoot.Folder, "examples", "rogue.toml"));

        var host = outcome.Host!;
        Assert.Equal(0L, host.Counters.Hypercalls);
        Assert.Equal(0L, host.Machine.TotalFaults);
        Assert.All(host.Domains, d => Assert.False(d.Iommu.IsInitialised, $"{d} is initialised"));
        Assert.Empty(host.Audit());
    }

    [Fact]
    public void BootFile_BadValue_GivesTheFileAndTheLine()
    {
        var path = Write("bad.toml", ScenarioParsingTests.Valid.Replace("memory = 1024", "memory = \"lots\"", StringComparison.Ordinal));
        var line = Array.FindIndex(File.ReadAllLines(path), l => l.Contains("\"lots\"", StringComparison.Ordinal)) + 1;

        var outcome = ScenarioHost.BootFile(path);

        Assert.False(outcome.IsOk);
        Assert.Null(outcome.Host);
        Assert.Equal(path, outcome.Error!.File);
        Assert.Equal(line, outcome.Error.Line);
        Assert.StartsWith($"{path}:{line}:", outcome.Error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void BootFile_MissingFile_SaysItCannotBeRead()
    {
        var path = Path.Combine(_folder, "absent.toml");

        var outcome = ScenarioHost.BootFile(path);

        Assert.Null(outcome.Host);
        Assert.Equal((path, 0), (outcome.Error!.File, outcome.Error.Line));
        Assert.Contains("cannot read", outcome.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BootFile_DeviceThatCannotBeAssigned_IsAnErrorAtItsDomainsLine()
    {
        // The small valid scenario with a second NIC for a guest, whose reserved region lies on
        // the guest's RAM (gfn 0x1000), so Xen cannot map it 1:1 into the guest's context 0.
        var text = ScenarioParsingTests.Valid + """


            [[host.pci]]
            bdf = "00:03.0"
            class = "nic"

            [[host.reserved]]
            name = "rmrr"
            start = 0x1000
            frames = 16
            devices = ["00:03.0"]

            [[domain]]
            name = "guest"
            memory = 256
            pci = ['00:03.0']
            """;
        var path = Write("rmrr-on-ram.toml", text);
        var line = Array.IndexOf(File.ReadAllLines(path), "name = \"guest\"");

        var outcome = ScenarioHost.BootFile(path);

        Assert.Null(outcome.Host);
        Assert.Equal(line, outcome.Error!.Line);
        Assert.Contains("cannot assign 0000:00:03.0 to 'guest'", outcome.Error.Message, StringComparison.Ordinal);
    }

    private string Write(string name, string text)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllText(path, text);
        return path;
    }
}
