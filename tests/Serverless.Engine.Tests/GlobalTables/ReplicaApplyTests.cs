using System.Buffers;
using System.Text;
using System.Text.Json;
using Serverless.Engine.Protocol;
using Serverless.Engine.Storage;
using Serverless.Engine.Tests.Security;
using Serverless.Replicator.GlobalTables;
using Serverless.Replicator.GlobalTables.ClaimCheck;

namespace Serverless.Engine.Tests.GlobalTables;

/// <summary>
/// The store's replica write path: last writer wins per item, tombstones, idempotence by the origin's sequence
/// numbers, versions rebuilt from the change log after a restart; and the persisted formats global tables add.
/// </summary>
public sealed class ReplicaApplyTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "gt-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task ApplyReplicated_LastWriterWins_TombstoneStopsALateOlderWrite_AndRedeliveryIsADuplicate()
    {
        await using var db = await Database.OpenAsync(Options(), TimeProvider.System);
        db.LocalRegion = "us-east-1";
        var table = await db.CreateTableAsync("t", n => Table("t", n()));
        await db.TrackVersionsAsync(table);
        var key = Key(table.Number, 1);

        var first = await db.ApplyReplicatedAsync(table, key, new ReplicaOrigin("eu-west-1", 2_000, 10), true, Value(1));
        Assert.Equal(ReplicaApplyKind.Applied, first.Kind);
        await first.Committed;
        Assert.Equal(1, Read(db, key));
        Assert.Equal(ReplicaApplyKind.Duplicate, (await db.ApplyReplicatedAsync(table, key, new ReplicaOrigin("eu-west-1", 2_000, 10), true, Value(1))).Kind);
        Assert.Equal(ReplicaApplyKind.Older, (await db.ApplyReplicatedAsync(table, key, new ReplicaOrigin("eu-west-1", 1_000, 9), true, Value(9))).Kind);
        Assert.Equal(1, Read(db, key));

        // Same timestamp from two regions: the greater region name wins, in every region alike.
        Assert.Equal(ReplicaApplyKind.Applied, (await db.ApplyReplicatedAsync(table, key, new ReplicaOrigin("eu-west-2", 2_000, 3), true, Value(2))).Kind);
        Assert.Equal(ReplicaApplyKind.Older, (await db.ApplyReplicatedAsync(table, key, new ReplicaOrigin("ap-south-1", 2_000, 99), true, Value(3))).Kind);
        Assert.Equal(2, Read(db, key));

        // A delete leaves a tombstone: a late write older than the delete does not bring the item back.
        var delete = await db.ApplyReplicatedAsync(table, key, new ReplicaOrigin("eu-west-1", 5_000, 11), false, default);
        Assert.Equal(ReplicaApplyKind.Applied, delete.Kind);
        await delete.Committed;
        Assert.False(db.TryRead(key, new ArrayBufferWriter<byte>()));
        Assert.Equal(ReplicaApplyKind.Older, (await db.ApplyReplicatedAsync(table, key, new ReplicaOrigin("eu-west-2", 4_999, 4), true, Value(4))).Kind);
        Assert.False(db.TryRead(key, new ArrayBufferWriter<byte>()));
        Assert.Equal(1, db.VersionsOf(table)!.TombstoneCount());

        // A newer write after the delete does.
        Assert.Equal(ReplicaApplyKind.Applied, (await db.ApplyReplicatedAsync(table, key, new ReplicaOrigin("eu-west-2", 6_000, 5), true, Value(5))).Kind);
        Assert.Equal(5, Read(db, key));
        Assert.Equal(1, table.ItemCount);
    }

    [Fact]
    public async Task Versions_OfLocalAndReplicatedWrites_AreRebuiltFromTheChangeLogAfterARestart()
    {
        var options = Options();
        byte[] key;
        await using (var db = await Database.OpenAsync(options, TimeProvider.System))
        {
            db.LocalRegion = "us-east-1";
            var table = await db.CreateTableAsync("t", n => Table("t", n()));
            await db.TrackVersionsAsync(table);
            key = Key(table.Number, 7);
            await (await db.ApplyReplicatedAsync(table, key, new ReplicaOrigin("eu-west-1", 9_000_000_000_000_000, 42), false, default)).Committed;
            await db.CheckpointAsync(); // the log keeps the record: the versions are rebuilt from the log, not the checkpoint
        }

        await using (var db = await Database.OpenAsync(options, TimeProvider.System))
        {
            db.LocalRegion = "us-east-1";
            var table = db.FindTable("t")!;
            var versions = await db.TrackVersionsAsync(table);
            Assert.True(versions.TryGet(key, out var version));
            Assert.Equal(new ItemVersion(9_000_000_000_000_000, "eu-west-1", 42, Deleted: true), version);
            Assert.Equal(ReplicaApplyKind.Older, (await db.ApplyReplicatedAsync(table, key, new ReplicaOrigin("eu-west-2", 8_000_000_000_000_000, 1), true, Value(1))).Kind);
        }
    }

    [Fact]
    public void ReplicatedItemWriteFrame_MatchesGoldenBytes_AndReadsItsOrigin()
    {
        var buffer = new ArrayBufferWriter<byte>();
        using var cipher = TestKeys.FixedRecords();
        ChangeRecord.WriteItemWrite(buffer, cipher, 7, 1_700_000_000_000_000, ChangeFlags.Replicated, 3,
            [0xAA, 0xBB], false, default, true, [0x01, 0x02, 0x03], new ReplicaOrigin("eu-west-1", 1_600_000_000_000_000, 0x0102));
        var (_, payload) = TestKeys.OpenFrame(buffer.WrittenSpan);
        // An ItemWrite body with flags 2, then the origin: region length 9, "eu-west-1", timestamp, sequence number.
        Assert.Equal("0101" + "0700000000000000" + "00401E18240A0600" + "02" + "03000000" + "02AABB" + "00" + "04010203"
            + "09" + "65752D776573742D31" + "0000A40731AF0500" + "0201000000000000", Convert.ToHexString(payload));

        var frame = buffer.WrittenSpan.ToArray();
        using var reader = TestKeys.FixedRecords();
        Assert.True(ChangeRecord.TryRead(frame, reader, out var record) > 0);
        Assert.Equal(ChangeFlags.Replicated, record.Flags);
        Assert.Equal("eu-west-1", Encoding.UTF8.GetString(record.OriginRegion));
        Assert.Equal(1_600_000_000_000_000, record.OriginTimestampMicros);
        Assert.Equal(0x0102UL, record.OriginLsn);
        Assert.Equal([0x01, 0x02, 0x03], record.NewImage.ToArray());
    }

    private const string GoldenGlobal =
        ",\"Global\":{\"Version\":\"2019.11.21\",\"Replicas\":[{\"RegionName\":\"eu-west-1\",\"Status\":\"CREATING\",\"PercentProgress\":\"40\",\"KmsMasterKeyId\":\"alias/k\",\"ReadCapacityUnitsOverride\":5,\"MaxReadRequestUnitsOverride\":9,\"TableClassOverride\":\"STANDARD_INFREQUENT_ACCESS\",\"Indexes\":[{\"IndexName\":\"g\",\"ReadCapacityUnitsOverride\":2}]}],\"SyncedSettings\":\"PAY_PER_REQUEST|0||\"}}";

    [Fact]
    public void ReplicaMetadata_OnTheTableDefinition_SerialisesToGoldenJson_AndReadsBack()
    {
        var table = Table("t", 4);
        table.Streams = null;
        table.StreamViewType = null;
        var plain = Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(table, StorageJsonContext.Default.TableDefinition));
        table.Global = new GlobalTableDefinition
        {
            Replicas =
            [
                new ReplicaDefinition
                {
                    RegionName = "eu-west-1", PercentProgress = "40", KmsMasterKeyId = "alias/k", ReadCapacityUnitsOverride = 5,
                    MaxReadRequestUnitsOverride = 9, TableClassOverride = "STANDARD_INFREQUENT_ACCESS",
                    Indexes = [new ReplicaIndexDefinition { IndexName = "g", ReadCapacityUnitsOverride = 2 }],
                },
            ],
            SyncedSettings = "PAY_PER_REQUEST|0||",
        };
        var json = Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(table, StorageJsonContext.Default.TableDefinition));
        Assert.Equal(plain[..^1] + GoldenGlobal, json);
        var back = JsonSerializer.Deserialize(json, StorageJsonContext.Default.TableDefinition)!.Clone();
        Assert.Equal("2019.11.21", back.Global!.Version);
        Assert.Equal(2, back.Global.Find("eu-west-1")!.Indexes![0].ReadCapacityUnitsOverride);
        Assert.Null(JsonSerializer.Deserialize(plain, StorageJsonContext.Default.TableDefinition)!.Global); // old catalogs: not replicated
    }

    [Fact]
    public void ReplicationCheckpoint_SerialisesToGoldenJson_AndLoads()
    {
        const string Golden = "{\"Format\":1,\"Table\":\"Music\",\"TableId\":\"0f8fad5b-d9cb-469f-a165-70867728950e\",\"Peer\":\"eu-west-1\",\"Lsn\":1234,\"Copied\":true}";
        var checkpoint = new ReplicationCheckpoint { Table = "Music", TableId = "0f8fad5b-d9cb-469f-a165-70867728950e", Peer = "eu-west-1", Lsn = 1234, Copied = true };
        Assert.Equal(Golden, Encoding.UTF8.GetString(checkpoint.Serialize()));
        var path = ReplicationCheckpoint.PathOf(_dir, "Music", "eu-west-1");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, Golden);
        Assert.Equal(checkpoint, ReplicationCheckpoint.Load(path));
        checkpoint.Save(path);
        Assert.Equal(checkpoint, ReplicationCheckpoint.Load(path));
    }

    [Fact]
    public void ReplicationMessage_SerialisesToGoldenJson_AndParses()
    {
        const string Golden = "{\"Format\":1,\"Type\":\"Changes\",\"Source\":\"us-east-1\",\"Target\":\"eu-west-1\",\"Table\":\"Music\",\"Changes\":[{\"Lsn\":5,\"Ts\":1700000000000000,\"Key\":\"qrs=\",\"Item\":\"AwECAw==\"},{\"Lsn\":6,\"Ts\":1700000000000001,\"Origin\":\"ap-south-1\",\"Key\":\"qrs=\"}],\"Copy\":false,\"FromLsn\":5,\"NextLsn\":7,\"SentAt\":1700000000001}";
        var message = new ReplicationMessage
        {
            Type = MessageType.Changes, Source = "us-east-1", Target = "eu-west-1", Table = "Music", FromLsn = 5, NextLsn = 7, SentAt = 1700000000001,
            Changes =
            [
                new ReplicatedChange { Lsn = 5, Ts = 1700000000000000, Key = [0xAA, 0xBB], Item = [3, 1, 2, 3] },
                new ReplicatedChange { Lsn = 6, Ts = 1700000000000001, Origin = "ap-south-1", Key = [0xAA, 0xBB] },
            ],
        };
        Assert.Equal(Golden, message.Serialize());
        var back = ReplicationMessage.Parse(Golden);
        Assert.Equal(2, back.Changes!.Count);
        Assert.Null(back.Changes[1].Item);
        Assert.Equal("ap-south-1", back.Changes[1].Origin);
    }

    [Fact]
    public void PayloadPointer_SerialisesToGoldenJson_AndParses_AndItsBlobNameStartsWithTheTarget()
    {
        // The claim check's pointer: persisted in queues, read by every later release.
        const string Golden = "{\"Format\":1,\"Type\":\"Payload\",\"Source\":\"us-east-1\",\"Target\":\"eu-west-1\",\"Table\":\"Music\",\"Copy\":true,\"FromLsn\":5,\"NextLsn\":7,\"SentAt\":1700000000001,\"Blob\":\"eu-west-1/Music/us-east-1/5-0123456789abcdef0123456789abcdef\"}";
        var pointer = new ReplicationMessage
        {
            Type = MessageType.Payload, Source = "us-east-1", Target = "eu-west-1", Table = "Music", Copy = true, FromLsn = 5, NextLsn = 7, SentAt = 1700000000001,
            Blob = "eu-west-1/Music/us-east-1/5-0123456789abcdef0123456789abcdef",
        };
        Assert.Equal(Golden, pointer.Serialize());
        var back = ReplicationMessage.Parse(Golden);
        Assert.Equal(MessageType.Payload, back.Type);
        Assert.Equal(pointer.Blob, back.Blob);
        Assert.Null(back.Changes);

        var name = ReplicationPayloads.NameOf(pointer);
        Assert.Matches("^eu-west-1/Music/us-east-1/5-[0-9a-f]{32}$", name);
        Assert.NotEqual(name, ReplicationPayloads.NameOf(pointer));
    }

    [Fact]
    public void ItemVersion_OrdersByTimestampThenRegionThenSequenceNumber()
    {
        Assert.True(new ItemVersion(2, "a", 0, false).IsNewerThan(new ItemVersion(1, "z", 9, false)));
        Assert.True(new ItemVersion(1, "b", 0, false).IsNewerThan(new ItemVersion(1, "a", 9, false)));
        Assert.True(new ItemVersion(1, "a", 2, false).IsNewerThan(new ItemVersion(1, "a", 1, false)));
        Assert.False(new ItemVersion(1, "a", 1, false).IsNewerThan(new ItemVersion(1, "a", 1, false)));
    }

    private EngineOptions Options() => new() { DataDirectory = _dir, StoreMemoryBytes = 1L << 25 };

    private static TableDefinition Table(string name, uint number) => new()
    {
        Name = name, TableNumber = number, TableId = Guid.NewGuid().ToString(), Region = "us-east-1", AccountId = "0",
        HashKey = new KeyAttribute("pk", "N"), AttributeDefinitions = [new KeyAttribute("pk", "N")], CreationDateTime = 0,
        BillingMode = "PAY_PER_REQUEST",
        // Global tables have a stream: the change log is then kept for 24 hours, which the versions are rebuilt from.
        StreamViewType = "NEW_AND_OLD_IMAGES",
        Streams = [new StreamDefinition { Label = "2026-12-01T00:00:00.000", ViewType = "NEW_AND_OLD_IMAGES", StartLsn = 1, CreatedAt = 0 }],
    };

    private static byte[] Key(uint table, int n) => [(byte)(table >> 24), (byte)(table >> 16), (byte)(table >> 8), (byte)table, 0, 0, 0, (byte)n];

    /// <summary>A stored value: item size, then one byte standing for the item.</summary>
    private static byte[] Value(byte marker) => [1, marker];

    private static int Read(Database db, byte[] key)
    {
        var buffer = new ArrayBufferWriter<byte>();
        Assert.True(db.TryRead(key, buffer));
        return buffer.WrittenSpan[1];
    }
}
