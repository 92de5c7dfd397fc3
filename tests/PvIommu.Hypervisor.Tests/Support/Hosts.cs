using PvIommu.Abi;
using PvIommu.Abi.Structs;
using PvIommu.Hypervisor.Toolstack;

namespace PvIommu.Hypervisor.Tests.Support;

/// <summary>Hosts for tests, and the leak check each test ends with.</summary>
internal static class Hosts
{
    public static Host Default(HostOptions? options = null) => DefaultHost.Create(options ?? new HostOptions { PhysicalCpus = 4 });

    public static Guest Dom0(this Host host) => new(host, host.GetDomain(0));

    public static Guest DomU(this Host host) => new(host, host.GetDomain(1));

    /// <summary>Arena pages back, references balanced, no orphan context.</summary>
    public static void AssertNoLeaks(this Host host) => Assert.Empty(host.Audit());

    public static int Err(XenErrno errno) => errno.ToReturnValue();

    /// <summary>A multicall entry for <paramref name="op"/> with <paramref name="arg"/> encoded.</summary>
    public static IommuOpCall Entry<T>(SubOp op, T arg)
        where T : struct, IAbiStruct<T>
    {
        var bytes = new byte[SubOps.ArgumentSize(op)];
        arg.Write(bytes);
        return new IommuOpCall((uint)op, bytes);
    }
}
