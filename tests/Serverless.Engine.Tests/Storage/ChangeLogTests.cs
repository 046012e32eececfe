using System.Buffers;
using Serverless.Engine.Storage;
using Serverless.Engine.Tests.Security;

namespace Serverless.Engine.Tests.Storage;

public sealed class ChangeLogTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "cl-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void ItemWriteFrame_MatchesGoldenBytes()
    {
        var buffer = new ArrayBufferWriter<byte>();
        using var cipher = TestKeys.FixedRecords();
        ChangeRecord.WriteItemWrite(buffer, cipher, 7, 1_700_000_000_000_000, ChangeFlags.System, 3,
            [0xAA, 0xBB], false, default, true, [0x01, 0x02, 0x03]);
        // The frame: length 0x1F (31) | header crc | nonce (prefix, counter 0) | ciphertext | tag; decrypted payload:
        // version 1, kind 1, lsn 7, ts, flags 1, table 3, key len 2 + key, no old (0), new len+1=4 + bytes
        Assert.Equal("1F000000", Convert.ToHexString(buffer.WrittenSpan[..4]));
        var (nonce, payload) = TestKeys.OpenFrame(buffer.WrittenSpan);
        Assert.Equal("010203040506070800000000", Convert.ToHexString(nonce));
        Assert.Equal("0101" + "0700000000000000" + "00401E18240A0600" + "01" + "03000000" + "02AABB" + "00" + "04010203", Convert.ToHexString(payload));
        Assert.DoesNotContain("02AABB", Convert.ToHexString(buffer.WrittenSpan)); // the key bytes are not in clear
    }

    [Fact]
    public void CatalogFrame_MatchesGoldenBytes()
    {
        var buffer = new ArrayBufferWriter<byte>();
        using var cipher = TestKeys.FixedRecords();
        ChangeRecord.WriteCatalog(buffer, cipher, 1, 0, 9, "{}"u8);
        ChangeRecord.WriteCatalog(buffer, cipher, 2, 0, 9, "{}"u8);
        Assert.Equal("19000000", Convert.ToHexString(buffer.WrittenSpan[..4]));
        var (nonce, payload) = TestKeys.OpenFrame(buffer.WrittenSpan[..61]);
        Assert.Equal("010203040506070800000000", Convert.ToHexString(nonce));
        Assert.Equal("0102" + "0100000000000000" + "0000000000000000" + "09000000" + "027B7D", Convert.ToHexString(payload));
        var (second, _) = TestKeys.OpenFrame(buffer.WrittenSpan[61..]);
        Assert.Equal("010203040506070801000000", Convert.ToHexString(second)); // the next record, the next nonce
    }

    [Fact]
    public async Task Replay_ReturnsAppendedRecordsInOrder_AndTruncatesTornTail()
    {
        var options = new ChangeLogOptions();
        await using (var log = ChangeLog.OpenAndReplay(_dir, options, TestKeys.Cipher, 1, Ignore))
        {
            for (var i = 0; i < 100; i++)
            {
                var t = log.AppendItemWrite(i, ChangeFlags.None, 1, [(byte)i], false, default, true, [(byte)(i * 2)]);
                Assert.Equal((ulong)(i + 1), t.Lsn);
            }

            await log.FlushAsync();
            Assert.Equal(100UL, log.DurableLsn);
        }

        // Simulate a crash in the middle of a write: half a frame at the end of the segment.
        var segment = Directory.GetFiles(_dir, "*.log").Single();
        await File.AppendAllBytesAsync(segment, [0x30, 0, 0, 0, 1, 2, 3]);

        var seen = new List<(ulong Lsn, byte Key, byte Value)>();
        await using (var log = ChangeLog.OpenAndReplay(_dir, options, TestKeys.Cipher, 1, (in ChangeRecord r) => seen.Add((r.Lsn, r.Key[0], r.NewImage[0]))))
        {
            Assert.Equal(100, seen.Count);
            Assert.Equal(100UL, log.LastLsn);
            var next = log.AppendItemWrite(0, ChangeFlags.None, 1, [1], true, [2], false, default);
            Assert.Equal(101UL, next.Lsn);
            await next.Committed;
        }

        for (var i = 0; i < 100; i++) Assert.Equal(((ulong)(i + 1), (byte)i, (byte)(i * 2)), seen[i]);
        var count = 0;
        await using (ChangeLog.OpenAndReplay(_dir, options, TestKeys.Cipher, 100, (in ChangeRecord r) => count++))
        {
        }

        Assert.Equal(2, count); // records 100 and 101: the torn bytes were dropped, the new record follows cleanly
    }

    [Fact]
    public async Task Append_PastTheReleasedPagesOfTheMappedSegment_KeepsEveryRecord()
    {
        // 1,500 records of 4 KiB: 6 MiB in one segment, whose written pages are dropped from the resident set as the
        // appends pass them (madvise), while staying in the file.
        var options = new ChangeLogOptions();
        var image = new byte[4096];
        await using (var log = ChangeLog.OpenAndReplay(_dir, options, TestKeys.Cipher, 1, Ignore))
        {
            for (var i = 0; i < 1500; i++)
            {
                image[0] = (byte)i;
                image[^1] = (byte)(i >> 8);
                await log.AppendItemWrite(i, ChangeFlags.None, 1, [(byte)i, (byte)(i >> 8)], false, default, true, image).Committed;
            }
        }

        Assert.Single(Directory.GetFiles(_dir, "*.log"));
        var seen = 0;
        await using (ChangeLog.OpenAndReplay(_dir, options, TestKeys.Cipher, 1, (in ChangeRecord r) =>
        {
            Assert.Equal((byte)seen, r.NewImage[0]);
            Assert.Equal((byte)(seen >> 8), r.NewImage[^1]);
            Assert.Equal(4096, r.NewImage.Length);
            seen++;
        }))
        {
        }

        Assert.Equal(1500, seen);
    }

    [Fact]
    public async Task Replay_OfSegmentCopiedWhileOpen_StopsAtTheMappedZeros_AndAppendsAfterThem()
    {
        // A copy taken while the log is open is what a killed process leaves: records, then the zeros the
        // segment's mapping was sized with.
        var crashed = _dir + "-crashed";
        Directory.CreateDirectory(crashed);
        try
        {
            await using (var log = ChangeLog.OpenAndReplay(_dir, new ChangeLogOptions(), TestKeys.Cipher, 1, Ignore))
            {
                for (var i = 0; i < 10; i++) await log.AppendItemWrite(i, ChangeFlags.None, 1, [(byte)i], false, default, true, [7]).Committed;
                foreach (var f in Directory.GetFiles(_dir, "*.log")) File.Copy(f, Path.Combine(crashed, Path.GetFileName(f)));
            }

            Assert.True(new FileInfo(Directory.GetFiles(crashed, "*.log").Single()).Length > 1024 * 1024);
            var seen = new List<ulong>();
            await using (var log = ChangeLog.OpenAndReplay(crashed, new ChangeLogOptions(), TestKeys.Cipher, 1, (in ChangeRecord r) => seen.Add(r.Lsn)))
            {
                Assert.Equal(10UL, log.LastLsn);
                await log.AppendItemWrite(0, ChangeFlags.None, 1, [42], false, default, true, [7]).Committed;
            }

            seen.Clear();
            await using (ChangeLog.OpenAndReplay(crashed, new ChangeLogOptions(), TestKeys.Cipher, 1, (in ChangeRecord r) => seen.Add(r.Lsn)))
            {
            }

            Assert.Equal(Enumerable.Range(1, 11).Select(i => (ulong)i), seen);
        }
        finally
        {
            Directory.Delete(crashed, recursive: true);
        }
    }

    [Fact]
    public async Task ConcurrentAppends_ShareCommits_AndAllBecomeDurable()
    {
        await using var log = ChangeLog.OpenAndReplay(_dir, new ChangeLogOptions { Sync = ChangeLogSync.Always }, TestKeys.Cipher, 1, Ignore);
        var tasks = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 200; i++)
                await log.AppendItemWrite(0, ChangeFlags.None, 1, [(byte)w, (byte)i], false, default, true, [1]).Committed;
        })).ToArray();
        await Task.WhenAll(tasks);
        Assert.Equal(1600UL, log.DurableLsn);
    }

    private static void Ignore(in ChangeRecord record)
    {
    }

}
