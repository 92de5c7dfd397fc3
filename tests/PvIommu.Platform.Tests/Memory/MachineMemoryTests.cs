using PvIommu.Platform.Memory;

namespace PvIommu.Platform.Tests.Memory;

public class MachineMemoryTests
{
    [Fact]
    public void Host256GiB_CostsOnlyTouchedFrames()
    {
        var memory = new MachineMemory(256UL << 18); // 256 GiB in 4 KiB frames
        Assert.Equal(0, memory.TouchedFrames);
        memory.Write(new Mfn(0x3FFFFFF), 100, [1, 2, 3]);
        memory.Write(new Mfn(12345), 0, [9]);
        Assert.Equal(2, memory.TouchedFrames);
        Assert.Equal(2 * Frame.Size, memory.TouchedBytes);
        Assert.Equal(1, memory.TouchedInChunk(new Mfn(12345)));
    }

    [Fact]
    public unsafe void BackContiguous_PutsFramesSideBySideAcrossChunks()
    {
        var memory = new MachineMemory(4096);
        var first = memory.TryBackContiguous(new Mfn(300), 1000); // frames 300..1299: chunks 0, 1 and 2
        Assert.True(first is not null);
        Assert.Equal(0, memory.TouchedFrames); // backing touches nothing
        for (var i = 0L; i < 1000; i++)
        {
            Assert.Equal((nint)first + (nint)(i * Frame.Size), (nint)memory.WordsPointer(new Mfn(300 + (ulong)i)));
        }

        // The frames are ordinary frames: written and read through the memory, counted, zero at first.
        memory.Write(new Mfn(1299), 8, [7]);
        Assert.Equal(7UL << 0, memory.ReadWord(new Mfn(1299), 1) & 0xFF);
        Assert.Equal(0UL, memory.ReadWord(new Mfn(511), 0));
        Assert.Equal(1000, memory.TouchedFrames); // the pointer walk above touched each frame once
    }

    [Fact]
    public unsafe void BackContiguous_RefusesWhenAChunkIsAlreadyBacked()
    {
        var memory = new MachineMemory(4096);
        memory.Write(new Mfn(1100), 0, [5]); // chunk 2
        Assert.True(memory.TryBackContiguous(new Mfn(300), 1000) is null);
        Assert.Equal(5UL, memory.ReadWord(new Mfn(1100), 0) & 0xFF); // nothing moved
        Assert.True(memory.TryBackContiguous(new Mfn(0), 512) is not null); // chunk 0 alone is free
        Assert.True(memory.TryBackContiguous(new Mfn(10), 1) is null); // and is now backed
        Assert.Throws<ArgumentOutOfRangeException>(() => memory.TryBackContiguous(new Mfn(4000), 200) is null);
    }

    /// <summary>
    /// Huge-page backing changes where chunks live, not what they hold: frames read as zero until
    /// written, count as touched one by one, and (on Linux) each chunk starts on a 2 MiB boundary,
    /// a contiguous block too.
    /// </summary>
    [Fact]
    public unsafe void HugePages_HoldTheSameBytes_OnTwoMiBBoundaries()
    {
        var memory = new MachineMemory(4096, hugePages: true);
        Assert.True(memory.HugePages);
        Assert.Equal(0UL, memory.ReadWord(new Mfn(600), 3));
        memory.Write(new Mfn(600), 24, [0x11, 0x22]);
        Assert.Equal(0x2211UL, memory.ReadWord(new Mfn(600), 3));
        Assert.Equal(1, memory.TouchedFrames);
        var block = memory.TryBackContiguous(new Mfn(1024), 1024);
        Assert.True(block is not null);
        memory.Write(new Mfn(2047), 4095, [0x7F]);
        Assert.Equal(0x7FUL << 56, memory.ReadWord(new Mfn(2047), 511));
        Assert.Equal(2, memory.TouchedFrames);
        if (OperatingSystem.IsLinux())
        {
            Assert.Equal(0, (nint)memory.WordsPointer(new Mfn(512)) % (2 << 20));
            Assert.Equal(0, (nint)block % (2 << 20));
        }
    }

    [Fact]
    public void Untouched_ReadsAsZero()
    {
        var memory = new MachineMemory(1024);
        var buffer = new byte[16];
        Array.Fill(buffer, (byte)0xAA);
        memory.Read(new Mfn(5), 4000, buffer.AsSpan(0, 16));
        Assert.All(buffer, b => Assert.Equal(0, b));
        Assert.Equal(0UL, memory.ReadWord(new Mfn(700), 511));
        Assert.Equal(0, memory.TouchedFrames);
    }

    [Fact]
    public void Write_IsSeenAsLittleEndianWords()
    {
        var memory = new MachineMemory(16);
        memory.Write(new Mfn(3), 8, [0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11]);
        Assert.Equal(0x1122334455667788UL, memory.ReadWord(new Mfn(3), 1));
    }

    [Fact]
    public void Scrub_ZeroesAndUncounts()
    {
        var memory = new MachineMemory(16);
        memory.Words(new Mfn(2))[7] = 42;
        Assert.Equal(1, memory.TouchedFrames);
        memory.Scrub(new Mfn(2));
        Assert.Equal(0UL, memory.ReadWord(new Mfn(2), 7));
        Assert.Equal(0, memory.TouchedFrames);
    }

    [Fact]
    public void AccessBeyondHostOrFrame_Throws()
    {
        var memory = new MachineMemory(16);
        Assert.Throws<ArgumentOutOfRangeException>(() => memory.Write(new Mfn(16), 0, [1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => memory.Write(new Mfn(1), 4095, [1, 2]));
        Assert.Throws<ArgumentOutOfRangeException>(() => memory.ReadWord(new Mfn(99), 0));
    }

    [Fact]
    public void FaultInjector_FailsExactlyTheNth()
    {
        var faults = new FaultInjector();
        faults.FailNth(3);
        Assert.Equal([false, false, true, false], [faults.ShouldFail(), faults.ShouldFail(), faults.ShouldFail(), faults.ShouldFail()]);
        Assert.Equal(1, faults.Injected);
        Assert.Equal(4, faults.Attempts);
    }
}
