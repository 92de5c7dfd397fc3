using PvIommu.Abi.Structs;

namespace PvIommu.Abi.Tests.Structs;

/// <summary>pv_iommu_capabilities, spec §2: size 24; max_iova_addr u64 @0, cap_flags @8, pgsize_mask @12, max_pasid @16, max_ctx_no u16 @20, pad0 @22 written 0.</summary>
public class CapabilitiesTests
{
    internal static readonly Capabilities Sample = new()
    {
        MaxIovaAddr = (1UL << 48) - 1,
        CapFlags = CapFlags.DefaultIdentity | CapFlags.Cache | CapFlags.Identity | CapFlags.DeferredFlush | CapFlags.Lookup,
        PgsizeMask = PageSizes.SupportedMask,
        MaxPasid = 0x0A0B0C0D,
        MaxCtxNo = 0x1234,
    };

    // Hand-computed little-endian encoding of Sample, fields separated by '|'.
    internal const string Vector =
        "FF FF FF FF FF FF 00 00 | 73 00 00 00 | 00 10 20 40 | 0D 0C 0B 0A | 34 12 | 00 00";

    [Fact]
    public void Write_Sample_GivesHandComputedBytes() =>
        Assert.Equal(Hex.Bytes(Vector), Hex.Encode(Sample, Capabilities.Size));

    [Fact]
    public void Read_HandComputedBytes_GivesSample() =>
        Assert.Equal(Sample, Capabilities.Read(Hex.Bytes(Vector)));

    [Fact]
    public void Write_ProjectPgsizeMask_Is4K2M1G()
    {
        // spec §3 query_capabilities: pgsize_mask = 4 KiB | 2 MiB | 1 GiB.
        var bytes = Hex.Encode(new Capabilities { PgsizeMask = PageSizes.SupportedMask }, Capabilities.Size);
        Assert.Equal(Hex.Bytes("00 10 20 40"), bytes[12..16]);
    }
}
