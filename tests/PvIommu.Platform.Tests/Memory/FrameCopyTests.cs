using PvIommu.Platform.Memory;

namespace PvIommu.Platform.Tests.Memory;

public class FrameCopyTests
{
    public static TheoryData<int, int> Shapes => new()
    {
        { 0, 0 }, { 1, 3 }, { 31, 0 }, { 32, 7 }, { 63, 2 }, { 64, 0 }, { 65, 3 }, { 128, 5 },
        { 255, 1 }, { 256, 0 }, { 257, 5 },
        { 383, 9 }, { 4000, 0 }, { 4000, 96 }, { 4095, 1 }, { 4096, 0 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Copy_MovesExactlyTheSourceBytes(int length, int offset)
    {
        var random = new Random(length * 31 + offset);
        var source = new byte[length];
        random.NextBytes(source);
        var destination = new byte[offset + length + 64];
        Array.Fill(destination, (byte)0xA5);

        FrameCopy.Copy(source, destination.AsSpan(offset));

        Assert.Equal(source, destination.AsSpan(offset, length).ToArray());
        Assert.All(destination.AsSpan(0, offset).ToArray(), b => Assert.Equal(0xA5, b));
        Assert.All(destination.AsSpan(offset + length).ToArray(), b => Assert.Equal(0xA5, b));
    }

    [Theory]
    [InlineData(1000, 40)]
    [InlineData(1000, -40)]
    [InlineData(4000, 32)]
    [InlineData(100, 8)]
    public void Copy_OverlappingSpans_BehavesAsMemmove(int length, int shift)
    {
        var buffer = new byte[length + 128];
        new Random(7).NextBytes(buffer);
        var expected = (byte[])buffer.Clone();
        var from = 64;
        Array.Copy(expected, from, expected, from + shift, length);

        FrameCopy.Copy(buffer.AsSpan(from, length), buffer.AsSpan(from + shift, length));

        Assert.Equal(expected, buffer);
    }

    [Fact]
    public void Copy_ShorterDestination_Throws()
    {
        Assert.Throws<ArgumentException>(() => FrameCopy.Copy(new byte[300], new byte[299]));
        Assert.Throws<ArgumentException>(() => FrameCopy.Copy(new byte[100], new byte[99]));
        Assert.Throws<ArgumentException>(() => FrameCopy.Copy(new byte[10], new byte[9]));
    }

    [Fact]
    public void MachineMemory_FrameWriteAndRead_RoundTripThroughTheVectorCopy()
    {
        var memory = new MachineMemory(8);
        var frame = new byte[4000];
        new Random(3).NextBytes(frame);
        memory.Write(new Mfn(5), 64, frame);

        var whole = new byte[Frame.Size];
        memory.Read(new Mfn(5), 0, whole);
        Assert.All(whole.AsSpan(0, 64).ToArray(), b => Assert.Equal(0, b));
        Assert.Equal(frame, whole.AsSpan(64, 4000).ToArray());
        Assert.All(whole.AsSpan(4064).ToArray(), b => Assert.Equal(0, b));
    }
}
