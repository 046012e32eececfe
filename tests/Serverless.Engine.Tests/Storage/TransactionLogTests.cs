using System.Buffers;
using Serverless.Engine.Protocol;
using Serverless.Engine.Storage;
using Serverless.Engine.Tests.Security;

namespace Serverless.Engine.Tests.Storage;

/// <summary>The transaction record: its frozen layout, replay of all its items or none, and durable tokens.</summary>
public sealed class TransactionLogTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "txlog-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void TransactionFrame_MatchesGoldenBytes()
    {
        var buffer = new ArrayBufferWriter<byte>();
        TransactionChange[] items =
        [
            new(ChangeFlags.None, 3, new byte[] { 0xAA }, false, default, true, new byte[] { 0x01, 0x02 }),
            new(ChangeFlags.None, 4, new byte[] { 0xBB, 0xCC }, true, new byte[] { 0x09 }, false, default),
        ];
        using var cipher = TestKeys.FixedRecords();
        ChangeRecord.WriteTransaction(buffer, cipher, 5, 1_700_000_000_000_000, "tk"u8, [0xF0, 0xF1], items);
        // length 0x2F (47) | header crc | nonce | ciphertext | tag; decrypted payload:
        // version 1, kind 3, lsn 5, ts, token len 2 "tk", fingerprint len 2 F0F1, 2 items:
        //   flags 0, table 3, key 1 AA, no old, new len+1=3 0102;  flags 0, table 4, key 2 BBCC, old len+1=2 09, no new
        Assert.Equal("2F000000", Convert.ToHexString(buffer.WrittenSpan[..4]));
        var (_, payload) = TestKeys.OpenFrame(buffer.WrittenSpan);
        Assert.Equal("0103" + "0500000000000000" + "00401E18240A0600"
            + "02746B" + "02F0F1" + "02"
            + "00" + "03000000" + "01AA" + "00" + "030102"
            + "00" + "04000000" + "02BBCC" + "0209" + "00", Convert.ToHexString(payload));

        var frame = buffer.WrittenSpan.ToArray();
        Assert.Equal(buffer.WrittenCount, ChangeRecord.TryRead(frame, cipher, out var record));
        Assert.Equal(ChangeKind.Transaction, record.Kind);
        Assert.Equal("tk"u8.ToArray(), record.TransactionToken.ToArray());
        Assert.Equal(2, record.TransactionItemCount);
        var e = record.EnumerateTransactionItems();
        Assert.True(e.MoveNext());
        Assert.Equal((ChangeKind.ItemWrite, 5UL, 3u, (byte)0xAA, false, true), (e.Current.Kind, e.Current.Lsn, e.Current.TableNumber, e.Current.Key[0], e.Current.HasOldImage, e.Current.HasNewImage));
        Assert.True(e.MoveNext());
        Assert.Equal((4u, 2, true, (byte)0x09, false), (e.Current.TableNumber, e.Current.Key.Length, e.Current.HasOldImage, e.Current.OldImage[0], e.Current.HasNewImage));
        Assert.False(e.MoveNext());
    }

    [Fact]
    public void TransactionFrame_WithADamagedItemCount_IsRefused()
    {
        var buffer = new ArrayBufferWriter<byte>();
        using var cipher = TestKeys.FixedRecords();
        ChangeRecord.WriteTransaction(buffer, cipher, 1, 0, default, default, [new(ChangeFlags.None, 1, new byte[] { 1 }, false, default, true, new byte[] { 2 })]);
        var bytes = buffer.WrittenSpan.ToArray();
        // Claims two items but holds one: re-encrypt the damaged payload under a valid tag, so only the layout check can catch it.
        var (nonce, payload) = TestKeys.OpenFrame(bytes);
        payload[18 + 1 + 1] = 2;
        using (var gcm = new System.Security.Cryptography.AesGcm(TestKeys.DataKey, 16))
            gcm.Encrypt(nonce, payload, bytes.AsSpan(20, payload.Length), bytes.AsSpan(20 + payload.Length, 16), bytes.AsSpan(0, 4));
        Assert.Equal(-1, ChangeRecord.TryRead(bytes, cipher, out _));
    }

    [Fact]
    public async Task Replay_OfATornTransactionAtTheTail_AppliesNoneOfIt()
    {
        var options = new ChangeLogOptions();
        await using (var log = ChangeLog.OpenAndReplay(_dir, options, TestKeys.Cipher, 1, Ignore))
        {
            await log.AppendItemWrite(0, ChangeFlags.None, 1, [1], false, default, true, [10]).Committed;
            await log.AppendTransaction(0, default, default, [
                new(ChangeFlags.None, 1, new byte[] { 2 }, false, default, true, new byte[] { 20 }),
                new(ChangeFlags.None, 1, new byte[] { 3 }, false, default, true, new byte[] { 30 }),
            ]).Committed;
        }

        var segment = Directory.GetFiles(_dir, "*.log").Single();
        var length = new FileInfo(segment).Length;
        await using (var fs = new FileStream(segment, FileMode.Open)) fs.SetLength(length - 3); // the crash cut the transaction short

        var keys = new List<byte>();
        await using (var log = ChangeLog.OpenAndReplay(_dir, options, TestKeys.Cipher, 1, (in ChangeRecord r) =>
        {
            if (r.Kind == ChangeKind.ItemWrite) keys.Add(r.Key[0]);
            else
            {
                var e = r.EnumerateTransactionItems();
                while (e.MoveNext()) keys.Add(e.Current.Key[0]);
            }
        }))
        {
            Assert.Equal(1UL, log.LastLsn);
        }

        Assert.Equal([1], keys);
    }

    [Fact]
    public async Task Database_CommitsAllOrNothing_AndKeepsTokensThroughCheckpointAndRestart()
    {
        var options = new EngineOptions
        {
            DataDirectory = _dir, StoreMemoryBytes = 1L << 25,
            ChangeLog = new ChangeLogOptions { SegmentBytes = 1 }, // every commit rolls a segment, so a checkpoint can drop them
        };
        byte[] fingerprint = [1, 2, 3];
        await using (var db = await Database.OpenAsync(options, TimeProvider.System))
        {
            var table = await db.CreateTableAsync("accounts", n => Table("accounts", n()));
            var a = Key(table.Number, 1);
            var b = Key(table.Number, 2);
            Assert.Equal(TokenClaim.New, db.ClaimTransactionToken("tok", fingerprint));
            var ok = db.WriteTransaction([new(table, a, new Set(10)), new(table, b, new Set(20))], "tok", fingerprint);
            Assert.True(ok.Committed);
            await ok.Durable;
            Assert.Equal(0, db.HeldKeyCount);

            var failed = db.WriteTransaction([new(table, a, new Set(11)), new(table, b, Fail.Instance)]);
            Assert.False(failed.Committed);
            Assert.Equal([TransactionOutcome.Ok, TransactionOutcome.ConditionFailed], failed.Outcomes);
            Assert.Equal(10, Read(db, a));

            for (var i = 0; i < 5; i++) await db.WriteTransaction([new(table, Key(table.Number, 100 + i), new Set(i))]).Durable;
            await db.CheckpointAsync();
            await db.WriteTransaction([new(table, Key(table.Number, 200), new Set(1))]).Durable;
            await db.CheckpointAsync();
            Assert.Single(Directory.GetFiles(Path.Combine(_dir, "changelog"), "*.log")); // the token's record is gone from the log
        }

        await using (var db = await Database.OpenAsync(options, TimeProvider.System))
        {
            var table = db.FindTable("accounts")!;
            Assert.Equal(TokenClaim.Replay, db.ClaimTransactionToken("tok", fingerprint));
            Assert.Equal(TokenClaim.Mismatch, db.ClaimTransactionToken("tok", [9]));
            Assert.Equal(10, Read(db, Key(table.Number, 1)));
            Assert.Equal(20, Read(db, Key(table.Number, 2)));
            Assert.Equal(8, table.ItemCount);
        }
    }

    [Fact]
    public async Task Tokens_ExpireTenMinutesAfterCommit()
    {
        var clock = new ManualClock();
        await using var db = await Database.OpenAsync(new EngineOptions { InMemory = true, StoreMemoryBytes = 1L << 25 }, clock);
        var table = await db.CreateTableAsync("tokens", n => Table("tokens", n()));
        Assert.Equal(TokenClaim.New, db.ClaimTransactionToken("t", [1]));
        await db.WriteTransaction([new(table, Key(table.Number, 1), new Set(1))], "t", [1]).Durable;
        clock.Advance(TimeSpan.FromMinutes(9));
        Assert.Equal(TokenClaim.Replay, db.ClaimTransactionToken("t", [1]));
        Assert.Equal(TokenClaim.Mismatch, db.ClaimTransactionToken("t", [2]));
        clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(TokenClaim.New, db.ClaimTransactionToken("t", [2]));
    }

    private sealed class ManualClock : TimeProvider
    {
        private DateTimeOffset _now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }

    private static TableDefinition Table(string name, uint number) => new()
    {
        Name = name, TableNumber = number, TableId = Guid.NewGuid().ToString(), Region = "us-east-1", AccountId = "0",
        HashKey = new KeyAttribute("pk", "N"), AttributeDefinitions = [new KeyAttribute("pk", "N")], CreationDateTime = 0,
    };

    private static byte[] Key(uint table, int n) => [(byte)(table >> 24), (byte)(table >> 16), (byte)(table >> 8), (byte)table, 0, 0, 0, (byte)n, (byte)(n >> 8)];

    private static int Read(Database db, byte[] key)
    {
        var buffer = new ArrayBufferWriter<byte>();
        Assert.True(db.TryRead(key, buffer));
        return buffer.WrittenSpan[^1];
    }

    /// <summary>Stores a one-byte "item" (a size header of 1 and the value).</summary>
    private sealed class Set(int value) : IItemMutation
    {
        public MutationKind Apply(ReadOnlySpan<byte> current, bool exists, IBufferWriter<byte> newValue)
        {
            newValue.Write<byte>([1, (byte)value]);
            return MutationKind.Put;
        }
    }

    private sealed class Fail : IItemMutation
    {
        public static readonly Fail Instance = new();

        public MutationKind Apply(ReadOnlySpan<byte> current, bool exists, IBufferWriter<byte> newValue) => MutationKind.ConditionFailed;
    }

    private static void Ignore(in ChangeRecord record)
    {
    }

}
