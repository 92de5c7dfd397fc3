using PvIommu.Platform.Iommu;
using PvIommu.Platform.Memory;
using PvIommu.Platform.Pci;

namespace PvIommu.Hypervisor.Tests.Spec;

/// <summary>What a device sees: DMA through the IOMMU, checked against machine memory.</summary>
internal static class Dma
{
    /// <summary>A device writes 8 bytes at the start of <paramref name="dfn"/>.</summary>
    public static DmaResult Write(Host host, Sbdf device, ulong dfn) =>
        host.Machine.Write(device, dfn << Frame.Shift, Pattern(dfn));

    /// <summary>A device reads 8 bytes at the start of <paramref name="dfn"/>.</summary>
    public static DmaResult Read(Host host, Sbdf device, ulong dfn) =>
        host.Machine.Read(device, dfn << Frame.Shift, new byte[8]);

    /// <summary>
    /// Asserts that a device write at <paramref name="dfn"/> succeeds and lands in
    /// <paramref name="mfn"/> (the translation is real, not just present).
    /// </summary>
    public static void AssertReaches(Host host, Sbdf device, ulong dfn, Mfn mfn)
    {
        var result = Write(host, device, dfn);
        Assert.True(result.IsOk, $"{device} dfn {dfn:x}: {result}");
        var back = new byte[8];
        host.Machine.Memory.Read(mfn, 0, back);
        Assert.Equal(Pattern(dfn), back);
    }

    /// <summary>Asserts that a device write at <paramref name="dfn"/> faults for <paramref name="reason"/>.</summary>
    public static void AssertFaults(Host host, Sbdf device, ulong dfn, FaultReason reason = FaultReason.NotMapped) =>
        Assert.Equal(reason, Write(host, device, dfn).Reason);

    private static byte[] Pattern(ulong dfn) => BitConverter.GetBytes(dfn ^ 0x5A5A_1234_C3C3_0001UL);
}
