using PvIommu.Devices.Network;

namespace PvIommu.Devices.Tests.Support;

/// <summary>
/// A NIC whose receive descriptors a test posts by hand: ring pages at dfn 0x100..0x101 (IOVA
/// <see cref="Ring"/>), buffer i at dfn 0x200 + i, all mapped in the NIC's domain.
/// </summary>
internal sealed class RxRingBed
{
    /// <summary>The IOVA of the ring's first page.</summary>
    public const ulong Ring = 0x100_000;

    /// <summary>The machine frame of the ring's first page.</summary>
    public const ulong RingFrame = Bed.SpareFirst;

    private const ulong BufferFrames = Bed.SpareFirst + 0x100;

    public RxRingBed(int buffers)
    {
        Domain = Bed.Attach(Bed.Nic);
        Domain.Map(0x100, RingFrame, 2);
        Domain.Map(0x200, BufferFrames, (ulong)buffers);
        Nic = new Nic(Bed.Machine, Bed.Nic);
    }

    public Bed Bed { get; } = new();

    public DeviceDomain Domain { get; }

    public Nic Nic { get; }

    /// <summary>The IOVA of buffer <paramref name="i"/>.</summary>
    public static ulong Buffer(int i) => 0x200_000 + ((ulong)i << 12);

    /// <summary>Programs a ring of <paramref name="descriptors"/> at <paramref name="ring"/> and posts buffers 0.. to its first <paramref name="posted"/> slots.</summary>
    public void Start(ulong ring, int descriptors, int posted)
    {
        Nic.ConfigureRx(ring, descriptors, 4096);
        Post(ring, 0, posted, slot => Buffer(slot));
        Assert.True(Nic.WriteRxTail(posted));
    }

    /// <summary>Writes posted descriptors for slots <paramref name="first"/>.. of the ring at <paramref name="ring"/>.</summary>
    public void Post(ulong ring, int first, int count, Func<int, ulong> buffer)
    {
        var bytes = new byte[RxDescriptor.Size];
        for (var slot = first; slot < first + count; slot++)
        {
            RxDescriptor.Posted(buffer(slot)).Write(bytes);
            Bed.Poke(Address(ring, slot), bytes);
        }
    }

    /// <summary>The descriptor in memory at slot <paramref name="slot"/> of the ring at <paramref name="ring"/>.</summary>
    public RxDescriptor DescriptorAt(ulong ring, int slot) => RxDescriptor.Read(Bed.Peek(Address(ring, slot), RxDescriptor.Size));

    /// <summary>The first <paramref name="length"/> bytes of buffer <paramref name="buffer"/>.</summary>
    public byte[] Landed(int buffer, int length = 64) => Bed.Peek((BufferFrames + (ulong)buffer) << 12, length);

    private static ulong Address(ulong ring, int slot) => (RingFrame << 12) + (ring - Ring) + (ulong)(slot * RxDescriptor.Size);
}
