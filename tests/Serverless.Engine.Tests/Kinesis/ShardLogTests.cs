using System.Text;
using Serverless.Engine.Kinesis;
using Serverless.Engine.Tests.Security;

namespace Serverless.Engine.Tests.Kinesis;

/// <summary>A shard's append-only segment files: rolling, reading across segments, seeks, retention and crash recovery.</summary>
public class ShardLogTests
{
    private static string NewDirectory() => Directory.CreateTempSubdirectory("shardlog-").FullName;

    private static List<KinesisRecord> ReadAll(ShardLog log, ulong from = 1, int batch = 7)
    {
        var all = new List<KinesisRecord>();
        var hint = default(ShardReadHint);
        while (true)
        {
            var page = new List<KinesisRecord>();
            from = log.Read(from, ref hint, batch, 1 << 20, page);
            if (page.Count == 0) return all;
            all.AddRange(page);
        }
    }

    [Fact]
    public void Appends_RollIntoSegments_AndReadBackInOrderAcrossThem()
    {
        var directory = NewDirectory();
        using var log = ShardLog.Open(directory, TestKeys.Cipher, segmentBytes: 64 * 1024, sync: false);
        var data = new byte[1000];
        for (ulong i = 1; i <= 300; i++)
        {
            BitConverter.TryWriteBytes(data, i);
            Assert.Equal(i, log.Append("key-" + i, data, 1000 + (long)i));
        }

        Assert.True(log.SegmentCount >= 4, $"{log.SegmentCount} segments");
        Assert.Equal(log.SegmentCount, Directory.GetFiles(directory, "*.seg").Length);
        var records = ReadAll(log);
        Assert.Equal(Enumerable.Range(1, 300).Select(i => (ulong)i), records.Select(r => r.Counter));
        Assert.All(records, r => Assert.Equal(r.Counter, BitConverter.ToUInt64(r.Data)));
        Assert.Equal(150UL, log.FindByTime(1150));
        Assert.Equal(301UL, log.FindByTime(99999));
        Assert.Equal(1UL, log.FindByTime(0));
        Assert.Equal(Enumerable.Range(200, 101).Select(i => (ulong)i), ReadAll(log, 200).Select(r => r.Counter));
    }

    [Fact]
    public void Trim_DeletesExpiredSegments_AndHidesExpiredRecords()
    {
        var directory = NewDirectory();
        using var log = ShardLog.Open(directory, TestKeys.Cipher, segmentBytes: 64 * 1024, sync: false);
        for (var i = 1; i <= 300; i++) log.Append("k", new byte[1000], i);
        var before = log.SegmentCount;
        var trimmed = log.Trim(cutoffMs: 201);
        Assert.Equal(200, trimmed);
        Assert.True(log.SegmentCount < before);
        Assert.Equal(201UL, log.FirstRetained);
        Assert.Equal(Enumerable.Range(201, 100).Select(i => (ulong)i), ReadAll(log).Select(r => r.Counter));
        Assert.Equal(log.SegmentCount, Directory.GetFiles(directory, "*.seg").Length);
        Assert.Equal(100, log.Trim(cutoffMs: 10_000));
        Assert.Empty(ReadAll(log));
        Assert.Equal(301UL, log.Append("k", new byte[1], 20_000));
    }

    [Fact]
    public void Reopen_CutsATornTail_AndContinuesTheNumbering()
    {
        var directory = NewDirectory();
        using (var log = ShardLog.Open(directory, TestKeys.Cipher, segmentBytes: 1 << 20, sync: false))
        {
            for (var i = 0; i < 10; i++) log.Append("k", Encoding.UTF8.GetBytes("r" + i), i);
        }

        var segment = Directory.GetFiles(directory, "*.seg").Single();
        var intact = new FileInfo(segment).Length;
        using (var stream = new FileStream(segment, FileMode.Append)) stream.Write([40, 0, 0, 0, 1, 2, 3]); // a frame cut short by a crash

        using var reopened = ShardLog.Open(directory, TestKeys.Cipher, segmentBytes: 1 << 20, sync: false);
        Assert.Equal(10UL, reopened.LastCounter);
        Assert.Equal(intact, new FileInfo(segment).Length);
        Assert.Equal(11UL, reopened.Append("k", "after"u8, 11));
        Assert.Equal(["r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "after"], ReadAll(reopened).Select(r => Encoding.UTF8.GetString(r.Data)));
    }

    [Fact]
    public void DamagedFrameInsideTheLog_IsReportedAsCorruption()
    {
        var directory = NewDirectory();
        using (var log = ShardLog.Open(directory, TestKeys.Cipher, segmentBytes: 1 << 20, sync: false))
        {
            for (var i = 0; i < 3; i++) log.Append("k", new byte[100], i);
        }

        var segment = Directory.GetFiles(directory, "*.seg").Single();
        var bytes = File.ReadAllBytes(segment);
        bytes[8 + 30] ^= 0x01; // inside the first frame's ciphertext
        File.WriteAllBytes(segment, bytes);
        // Not a torn tail (complete frames follow it): the shard refuses to open rather than drop the records after it.
        var error = Assert.Throws<InvalidDataException>(() => ShardLog.Open(directory, TestKeys.Cipher, segmentBytes: 1 << 20, sync: false));
        Assert.Contains(segment, error.Message);
    }
}
