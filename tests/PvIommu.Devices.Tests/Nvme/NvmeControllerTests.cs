using PvIommu.Devices.Nvme;
using PvIommu.Devices.Tests.Support;
using PvIommu.Platform.Iommu;
using PvIommu.Platform.PageTables;

namespace PvIommu.Devices.Tests.Nvme;

/// <summary>The NVMe controller's queues, commands and completions, with entries written by hand.</summary>
public sealed class NvmeControllerTests
{
    private readonly NvmeBench _bench = new();

    private NvmeController Controller => _bench.Controller;

    [Fact]
    public void Write_OnePage_StoresTheHostDataInTheNamespace()
    {
        var data = Bed.Pattern(4096, 1);
        _bench.Bed.Poke(NvmeBench.DataMachine(0), data);

        var completion = _bench.Run(SubmissionEntry.WriteCommand(7, 100, 8, NvmeBench.Data(0), 0));

        Assert.Equal(new CompletionEntry(0, 1, 1, 7, NvmeStatus.Success, true), completion);
        Assert.Equal(data, ReadMedia(100 * 512, 4096));
        Assert.Equal((1L, 1L, 4096L), (Controller.Stats.Commands, Controller.Stats.Writes, Controller.Stats.DataBytesFromHost));
    }

    [Fact]
    public void Read_OnePage_DeliversTheMediaToHostMemory()
    {
        var data = Bed.Pattern(4096, 2);
        Controller.Namespace.Write(8 * 512, data);

        var completion = _bench.Run(SubmissionEntry.ReadCommand(1, 8, 8, NvmeBench.Data(3), 0));

        Assert.True(completion.IsSuccess);
        Assert.Equal(data, _bench.Bed.Peek(NvmeBench.DataMachine(3), 4096));
        Assert.Equal(4096, Controller.Stats.DataBytesToHost);
    }

    [Fact]
    public void Read_TwoPages_UsesPrp2AsTheSecondPage()
    {
        var data = Bed.Pattern(8192, 3);
        Controller.Namespace.Write(0, data);

        Assert.True(_bench.Run(SubmissionEntry.ReadCommand(1, 0, 16, NvmeBench.Data(0), NvmeBench.Data(5))).IsSuccess);

        Assert.Equal(data[..4096], _bench.Bed.Peek(NvmeBench.DataMachine(0), 4096));
        Assert.Equal(data[4096..], _bench.Bed.Peek(NvmeBench.DataMachine(5), 4096));
        Assert.Equal(0, Controller.Stats.PrpListFetches);
    }

    [Fact]
    public void Read_Prp1WithAnOffset_SpillsIntoPrp2()
    {
        var data = Bed.Pattern(4096, 4);
        Controller.Namespace.Write(0, data);

        Assert.True(_bench.Run(SubmissionEntry.ReadCommand(1, 0, 8, NvmeBench.Data(0) + 512, NvmeBench.Data(1))).IsSuccess);

        Assert.Equal(data[..3584], _bench.Bed.Peek(NvmeBench.DataMachine(0) + 512, 3584));
        Assert.Equal(data[3584..], _bench.Bed.Peek(NvmeBench.DataMachine(1), 512));
    }

    [Fact]
    public void Write_128KiB_ReadsThePrpListAndEveryScatteredPage()
    {
        // 32 pages, deliberately out of order: PRP1 = page 40, list = pages 71, 70, … 41.
        var data = Bed.Pattern(128 * 1024, 5);
        var pages = new[] { 40 }.Concat(Enumerable.Range(41, 31).Reverse()).ToArray();
        for (var i = 0; i < pages.Length; i++)
        {
            _bench.Bed.Poke(NvmeBench.DataMachine(pages[i]), data.AsSpan(i * 4096, 4096));
        }

        _bench.WriteList(NvmeBench.ListFrame << 12, pages.Skip(1).Select(NvmeBench.Data));

        var completion = _bench.Run(SubmissionEntry.WriteCommand(9, 1000, 256, NvmeBench.Data(pages[0]), NvmeBench.ListIova));

        Assert.True(completion.IsSuccess);
        Assert.Equal(data, ReadMedia(1000 * 512, data.Length));
        Assert.Equal(1, Controller.Stats.PrpListFetches);
        Assert.Equal(1 + 1 + 32, Controller.Counters.ReadTransfers);
        Assert.Equal(64 + (31 * 8) + data.Length, Controller.Counters.BytesRead);
    }

    [Fact]
    public void Read_3MiB_FollowsTheChainToASecondListPage()
    {
        var bench = new NvmeBench(new NvmeOptions { BlockSize = 4096, BlockCount = 4096, MaxTransferBytes = 4 << 20 });
        bench.Domain.Map(0x3000, Bed.SpareFirst + 0x3000, 768);
        var data = Bed.Pattern(3 << 20, 6);
        bench.Controller.Namespace.Write(0, data);
        var list = Enumerable.Range(1, 767).Select(i => 0x3000_000UL + ((ulong)i << 12)).ToArray();

        // 511 entries and a chain pointer in the first list page, 256 in the second.
        bench.WriteList(NvmeBench.ListFrame << 12, list.Take(511).Append(NvmeBench.ListIova + 0x1000));
        bench.WriteList((NvmeBench.ListFrame + 1) << 12, list.Skip(511));
        var completion = bench.Run(SubmissionEntry.ReadCommand(1, 0, 768, 0x3000_000, NvmeBench.ListIova));

        Assert.True(completion.IsSuccess);
        Assert.Equal(2, bench.Controller.Stats.PrpListFetches);
        Assert.Equal(data, bench.Bed.Peek((Bed.SpareFirst + 0x3000) << 12, data.Length));
    }

    [Fact]
    public void Read_ListEntryWithAnOffset_IsPrpOffsetInvalid()
    {
        _bench.WriteList(NvmeBench.ListFrame << 12, [NvmeBench.Data(1) + 8, NvmeBench.Data(2)]);

        var completion = _bench.Run(SubmissionEntry.ReadCommand(1, 0, 24, NvmeBench.Data(0), NvmeBench.ListIova));

        Assert.Equal(NvmeStatus.PrpOffsetInvalid, completion.Status);
        Assert.Equal(1, Controller.Stats.Errors);
    }

    [Theory]
    [InlineData(0x1001UL, 0UL)]
    [InlineData(0x1000UL, 0x2004UL)]
    public void ReadOrWrite_MisalignedPrp_IsPrpOffsetInvalid(ulong prp1Offset, ulong prp2Offset)
    {
        var completion = _bench.Run(SubmissionEntry.ReadCommand(1, 0, 16, NvmeBench.DataIova + prp1Offset, NvmeBench.DataIova + prp2Offset));

        Assert.Equal(NvmeStatus.PrpOffsetInvalid, completion.Status);
    }

    [Fact]
    public void Commands_OutsideTheRules_CompleteWithTheSpecStatus()
    {
        Assert.Equal(NvmeStatus.LbaOutOfRange, _bench.Run(SubmissionEntry.ReadCommand(1, (1UL << 21) - 1, 2, NvmeBench.Data(0), 0)).Status);
        Assert.Equal(NvmeStatus.LbaOutOfRange, _bench.Run(SubmissionEntry.ReadCommand(1, ulong.MaxValue, 1, NvmeBench.Data(0), 0)).Status);
        Assert.Equal(NvmeStatus.InvalidField, _bench.Run(SubmissionEntry.ReadCommand(2, 0, 257, NvmeBench.Data(0), 0)).Status);
        Assert.Equal(NvmeStatus.InvalidOpcode, _bench.Run(new SubmissionEntry((NvmeOpcode)0x7F, 3, 1, 0, 0, 0, 0)).Status);
        Assert.Equal(NvmeStatus.InvalidNamespace, _bench.Run(SubmissionEntry.ReadCommand(4, 0, 1, NvmeBench.Data(0), 0) with { NamespaceId = 2 }).Status);
        Assert.Equal(NvmeStatus.InvalidField, _bench.Run(SubmissionEntry.ReadCommand(5, 0, 1, NvmeBench.Data(0), 0) with { Flags = 0x40 }).Status);
        Assert.Equal(NvmeStatus.Success, _bench.Run(SubmissionEntry.FlushCommand(6)).Status);

        Assert.Equal((7L, 6L, 1L), (Controller.Stats.Commands, Controller.Stats.Errors, Controller.Stats.Flushes));
        Assert.Equal(0, Controller.Counters.Faults);
    }

    [Fact]
    public void Write_DataPageNotMapped_FailsWithoutTouchingTheMedia()
    {
        Controller.Namespace.Write(0, Bed.Pattern(8192, 7));
        _bench.Domain.Unmap(NvmeBench.Data(1) >> 12);

        var completion = _bench.Run(SubmissionEntry.WriteCommand(1, 0, 16, NvmeBench.Data(0), NvmeBench.Data(1)));

        Assert.Equal(NvmeStatus.DataTransferError, completion.Status);
        Assert.Equal(Bed.Pattern(8192, 7), ReadMedia(0, 8192));
        Assert.Equal(new DmaResult(FaultReason.NotMapped, NvmeBench.Data(1)), Controller.Counters.LastFault);
        Assert.Equal(0, Controller.Stats.DataBytesFromHost);
    }

    [Fact]
    public void Read_IntoAReadOnlyPage_FaultsAndLeavesMemoryOutsideTheMappedPagesAlone()
    {
        Controller.Namespace.Write(0, Bed.Pattern(8192, 8));
        _bench.Domain.Unmap(NvmeBench.Data(1) >> 12);
        _bench.Domain.Map(NvmeBench.Data(1) >> 12, NvmeBench.DataFrame + 1, 1, PteAccess.Read);
        // Written on purpose: the SQ (by the test), data page 0 (mapped) and the CQ.
        var written = new[] { NvmeBench.SqFrame, NvmeBench.CqFrame, NvmeBench.DataFrame };
        var untouched = Snapshot.Sample(Bed.SpareFirst, 0x2000, 7).Except(written);
        var snapshot = new Snapshot(_bench.Bed.Memory, untouched.Append(NvmeBench.DataFrame + 1));

        var completion = _bench.Run(SubmissionEntry.ReadCommand(1, 0, 16, NvmeBench.Data(0), NvmeBench.Data(1)));

        Assert.Equal(NvmeStatus.DataTransferError, completion.Status);
        Assert.Equal(FaultReason.WriteNotPermitted, Controller.Counters.LastFault.Reason);
        Assert.Empty(snapshot.Changed());
    }

    [Fact]
    public void Process_PrpListNotMapped_IsADataTransferError()
    {
        var completion = _bench.Run(SubmissionEntry.ReadCommand(1, 0, 24, NvmeBench.Data(0), 0x7_000_000));

        Assert.Equal(NvmeStatus.DataTransferError, completion.Status);
        Assert.Equal(1, Controller.Stats.PrpListFetches);
        Assert.Equal(1, Controller.Counters.ReadFaults);
    }

    [Fact]
    public void Process_SubmissionQueueNotMapped_MakesTheControllerFatalUntilReset()
    {
        _bench.Domain.Unmap(NvmeBench.SqIova >> 12);
        _bench.Submit(SubmissionEntry.FlushCommand(1));

        Assert.Equal(1, Controller.Process());
        Assert.True(Controller.IsFatal);
        Assert.Null(_bench.Reap());
        Assert.Equal(0, Controller.Process());
        Assert.Equal(1, Controller.Stats.CommandFetchFaults);

        Controller.Reset();
        Assert.False(Controller.IsFatal);
        Assert.Null(Controller.GetQueue(1));
    }

    [Fact]
    public void Process_CompletionQueueNotWritable_LosesTheCompletion()
    {
        _bench.Domain.Unmap(NvmeBench.CqIova >> 12);

        _bench.Submit(SubmissionEntry.FlushCommand(1));
        Assert.Equal(1, Controller.Process());

        Assert.Equal(1, Controller.Stats.LostCompletions);
        Assert.Equal(1, Controller.GetQueue(1)!.Value.CqTail);
    }

    [Fact]
    public void Process_CompletionQueueFull_WaitsForTheDoorbell()
    {
        var bench = new NvmeBench(sqEntries: 8, cqEntries: 2);
        bench.Submit(SubmissionEntry.FlushCommand(1));
        bench.Submit(SubmissionEntry.FlushCommand(2));

        Assert.Equal(1, bench.Controller.Process());
        Assert.Equal(1, bench.Controller.PendingCommands);
        Assert.Equal(1, bench.Reap()!.Value.CommandId);
        Assert.Equal(1, bench.Controller.Process());
        Assert.Equal(2, bench.Reap()!.Value.CommandId);
    }

    [Fact]
    public void Completions_OverManyPasses_FlipThePhaseTagAtEveryWrap()
    {
        var bench = new NvmeBench(sqEntries: 5, cqEntries: 4);
        var phases = new List<bool>();
        for (ushort cid = 0; cid < 40; cid++)
        {
            bench.Submit(SubmissionEntry.FlushCommand(cid));
            Assert.Equal(1, bench.Controller.Process());
            var entry = bench.Reap()!.Value;
            Assert.Equal(cid, entry.CommandId);
            Assert.Equal((cid + 1) % 5, entry.SqHead);
            phases.Add(entry.Phase);
        }

        Assert.Equal(Enumerable.Range(0, 40).Select(i => i / 4 % 2 == 0), phases);
        Assert.Null(bench.Reap());
    }

    [Fact]
    public void Process_TwoQueues_TakesTurns()
    {
        _bench.Domain.Map(0x110, Bed.SpareFirst + 0x10, 2);
        Controller.CreateQueuePair(2, 0x110_000, 4, 0x111_000, 4);
        for (ushort i = 0; i < 3; i++)
        {
            _bench.Submit(SubmissionEntry.FlushCommand(i));
        }

        var entry = new byte[SubmissionEntry.Size];
        SubmissionEntry.FlushCommand(100).Write(entry);
        _bench.Bed.Poke((Bed.SpareFirst + 0x10) << 12, entry);
        Controller.RingSubmissionDoorbell(2, 1);

        Assert.Equal(2, Controller.Process(2));
        Assert.Equal(1, Controller.GetQueue(2)!.Value.SqHead);
        Assert.Equal(1, Controller.GetQueue(1)!.Value.SqHead);
    }

    [Fact]
    public void Doorbells_ForNoQueueOrOutsideIt_AreIgnoredAndCounted()
    {
        Assert.False(Controller.RingSubmissionDoorbell(9, 0));
        Assert.False(Controller.RingSubmissionDoorbell(1, 16));
        Assert.False(Controller.RingCompletionDoorbell(0, 0));

        Assert.Equal(3, Controller.Stats.InvalidDoorbellWrites);
        Assert.Equal(0, Controller.PendingCommands);
    }

    [Fact]
    public void CreateQueuePair_Twice_Throws()
    {
        Assert.Throws<InvalidOperationException>(() => Controller.CreateQueuePair(1, 0x200_000, 4, 0x201_000, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => Controller.CreateQueuePair(3, 0x200_800, 4, 0x201_000, 4));
    }

    [Fact]
    public void Entries_EncodeTheNvmeLayout()
    {
        var sqe = new byte[64];
        SubmissionEntry.WriteCommand(0xBEEF, 0x0102030405060708, 256, 0x1000, 0x2000).Write(sqe);
        Assert.Equal(0x01, sqe[0]);
        Assert.Equal([0xEF, 0xBE], sqe[2..4]);
        Assert.Equal([1, 0, 0, 0], sqe[4..8]);
        Assert.Equal(0x1000UL, BitConverter.ToUInt64(sqe, 24));
        Assert.Equal(0x2000UL, BitConverter.ToUInt64(sqe, 32));
        Assert.Equal(0x0102030405060708UL, BitConverter.ToUInt64(sqe, 40));
        Assert.Equal(255, BitConverter.ToUInt16(sqe, 48));

        var cqe = new byte[16];
        new CompletionEntry(0, 3, 1, 0xBEEF, NvmeStatus.LbaOutOfRange, true).Write(cqe);
        Assert.Equal([0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 1, 0, 0xEF, 0xBE, 0x01, 0x01], cqe);
        Assert.Equal(new CompletionEntry(0, 3, 1, 0xBEEF, NvmeStatus.LbaOutOfRange, true), CompletionEntry.Read(cqe));
    }

    private byte[] ReadMedia(ulong offset, int length)
    {
        var bytes = new byte[length];
        Controller.Namespace.Read(offset, bytes);
        return bytes;
    }
}
