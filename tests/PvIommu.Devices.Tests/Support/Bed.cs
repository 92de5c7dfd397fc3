using PvIommu.Hypervisor.Toolstack;
using PvIommu.Platform.Iommu;
using PvIommu.Platform.Memory;
using PvIommu.Platform.PageTables;
using PvIommu.Platform.Pci;

namespace PvIommu.Devices.Tests.Support;

/// <summary>
/// A test bed: the default host's machine (NIC, NVMe, GPU, DomU NIC on one VT-d unit) with no
/// hypervisor, and one hand-managed IOMMU context per device, so device tests control exactly
/// what each device can reach.
/// </summary>
/// <remarks>
/// <code>
///  frames 0x1000 ..  0x1FFF   page-table pool (the "hypervisor frames")
///  frames 0x10000 .. 0x1FFFF  driver RAM handed out by <see cref="DirectEnvironment"/>
///  frames 0x40000 .. 0x4FFFF  free for tests to map by hand ("other domains")
/// </code>
/// </remarks>
internal sealed class Bed
{
    public const ulong TableFirst = 0x1000;
    public const int TablePages = 0x1000;
    public const ulong RamFirst = 0x10000;
    public const ulong RamFrames = 0x10000;
    public const ulong SpareFirst = 0x40000;
    private ushort _nextDomainId = 1;

    public Bed()
    {
        Machine = DefaultHost.BuildMachine();
        Pool = new TablePool(Memory, new Mfn(TableFirst), TablePages);
    }

    public Machine Machine { get; }

    public MachineMemory Memory => Machine.Memory;

    public TablePool Pool { get; }

    public static Sbdf Nic => DefaultHost.Nic;

    public static Sbdf Nvme => DefaultHost.Nvme;

    public static Sbdf Gpu => DefaultHost.Gpu;

    public static Sbdf Rogue => DefaultHost.DomUNic;

    /// <summary>Gives <paramref name="device"/> a translated context of its own, mapping nothing yet.</summary>
    public DeviceDomain Attach(Sbdf device)
    {
        var domain = new DeviceDomain(Machine, Pool, device, _nextDomainId++);
        Machine.SetDeviceContext(device, DeviceContext.Translated(domain.DomainId, domain.Table.Root, domain.Table.Levels));
        Machine.InvalidateDeviceContext(device);
        return domain;
    }

    /// <summary>Writes <paramref name="bytes"/> at a machine address (may cross frames).</summary>
    public void Poke(ulong address, ReadOnlySpan<byte> bytes)
    {
        for (var done = 0; done < bytes.Length;)
        {
            var at = address + (ulong)done;
            var length = Math.Min(Frame.Size - (int)(at % Frame.Size), bytes.Length - done);
            Memory.Write(new Mfn(at >> Frame.Shift), (int)(at % Frame.Size), bytes.Slice(done, length));
            done += length;
        }
    }

    /// <summary>Reads <paramref name="length"/> bytes at a machine address.</summary>
    public byte[] Peek(ulong address, int length)
    {
        var bytes = new byte[length];
        for (var done = 0; done < length;)
        {
            var at = address + (ulong)done;
            var piece = Math.Min(Frame.Size - (int)(at % Frame.Size), length - done);
            Memory.Read(new Mfn(at >> Frame.Shift), (int)(at % Frame.Size), bytes.AsSpan(done, piece));
            done += piece;
        }

        return bytes;
    }

    /// <summary>Deterministic test bytes.</summary>
    public static byte[] Pattern(int length, int seed)
    {
        var bytes = new byte[length];
        var x = (uint)(seed * 2654435761u) | 1;
        for (var i = 0; i < length; i++)
        {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            bytes[i] = (byte)x;
        }

        return bytes;
    }
}

/// <summary>A device's hand-managed IOMMU context: its page table and domain-id.</summary>
internal sealed class DeviceDomain(Machine machine, TablePool pool, Sbdf device, ushort domainId)
{
    public Sbdf Device { get; } = device;

    public ushort DomainId { get; } = domainId;

    public PageTable<VtdSecondLevel> Table { get; } =
        PageTable.TryCreate<VtdSecondLevel>(pool, 4, out var t) ? t : throw new InvalidOperationException("table pool empty");

    /// <summary>Maps <paramref name="frames"/> frames from <paramref name="dfn"/> to machine frames from <paramref name="mfn"/>.</summary>
    public void Map(ulong dfn, ulong mfn, ulong frames = 1, PteAccess access = PteAccess.ReadWrite, int maxLeafLevel = 1)
    {
        var status = Table.Map(dfn, mfn, frames, access, maxLeafLevel, out var done);
        Assert.Equal(PtStatus.Ok, status);
        Assert.Equal(frames, done);
    }

    /// <summary>Unmaps and flushes the IOTLB for the range, as a strict-mode unmap does.</summary>
    public void Unmap(ulong dfn, ulong frames = 1)
    {
        Assert.Equal(PtStatus.Ok, Table.Unmap(dfn, frames, out var done));
        Assert.Equal(frames, done);
        machine.UnitOf(Device).Iotlb.InvalidatePages(DomainId, new Platform.Memory.Dfn(dfn), frames);
    }
}
