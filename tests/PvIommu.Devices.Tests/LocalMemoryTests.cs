namespace PvIommu.Devices.Tests;

/// <summary>Device-local memory: sparse pages, zero until written.</summary>
public sealed class LocalMemoryTests
{
    [Fact]
    public void Write_AcrossPages_ReadsBack()
    {
        var memory = new LocalMemory(1UL << 30);
        var data = Support.Bed.Pattern(10_000, 9);

        memory.Write(4000, data);
        var back = new byte[10_000];
        memory.Read(4000, back);

        Assert.Equal(data, back);
        Assert.Equal(4, memory.PagesTouched);
    }

    [Fact]
    public void Read_Unwritten_IsZero()
    {
        var memory = new LocalMemory(1UL << 40);
        var back = new byte[64];
        Array.Fill(back, (byte)0xFF);

        memory.Read(1UL << 39, back);

        Assert.All(back, b => Assert.Equal(0, b));
        Assert.Equal(0, memory.PagesTouched);
    }

    [Fact]
    public void Access_BeyondTheEnd_Throws()
    {
        var memory = new LocalMemory(8192);

        Assert.Throws<ArgumentOutOfRangeException>(() => memory.Write(8190, new byte[4]));
        Assert.Throws<ArgumentOutOfRangeException>(() => memory.Read(ulong.MaxValue, new byte[1]));
        Assert.True(memory.Contains(8188, 4));
        Assert.False(memory.Contains(8189, 4));
    }
}
