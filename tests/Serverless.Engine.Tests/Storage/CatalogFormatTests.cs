using System.Text;
using System.Text.Json;
using Serverless.Engine.Security.Encryption;
using Serverless.Engine.Storage;
using Serverless.Engine.Tests.Security;

namespace Serverless.Engine.Tests.Storage;

/// <summary>
/// The catalog is persisted as JSON in catalog change records and in the checkpoint manifest. These golden strings
/// guard the member names and shapes: a change that breaks them breaks every existing data directory.
/// </summary>
public class CatalogFormatTests
{
    private const string GoldenTable =
        "{\"Name\":\"Music\",\"TableNumber\":7,\"TableId\":\"0f8fad5b-d9cb-469f-a165-70867728950e\",\"Region\":\"eu-west-1\",\"AccountId\":\"123456789012\",\"HashKey\":{\"Name\":\"Artist\",\"Type\":\"S\"},\"RangeKey\":{\"Name\":\"Year\",\"Type\":\"N\"},\"AttributeDefinitions\":[{\"Name\":\"Artist\",\"Type\":\"S\"},{\"Name\":\"Year\",\"Type\":\"N\"}],\"BillingMode\":\"PROVISIONED\",\"ReadCapacityUnits\":5,\"WriteCapacityUnits\":10,\"LastIncreaseDateTime\":1700000100.5,\"NumberOfDecreasesToday\":0,\"TableClass\":\"STANDARD_INFREQUENT_ACCESS\",\"DeletionProtectionEnabled\":true,\"CreationDateTime\":1700000000.25,\"Tags\":{\"team\":\"audio\"}}";

    [Fact]
    public void TableDefinition_SerialisesToGoldenJson()
    {
        var json = Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(Sample(), StorageJsonContext.Default.TableDefinition));
        Assert.Equal(GoldenTable, json);
    }

    [Fact]
    public void TableDefinition_ReadsGoldenJson()
    {
        var t = JsonSerializer.Deserialize(GoldenTable, StorageJsonContext.Default.TableDefinition)!;
        Assert.Equal("Music", t.Name);
        Assert.Equal(7u, t.TableNumber);
        Assert.Equal(new KeyAttribute("Year", "N"), t.RangeKey);
        Assert.Equal(10, t.WriteCapacityUnits);
        Assert.Equal(1700000100.5, t.LastIncreaseDateTime);
        Assert.True(t.DeletionProtectionEnabled);
        Assert.Equal("audio", t.Tags["team"]);
        Assert.Equal("arn:aws:dynamodb:eu-west-1:123456789012:table/Music", t.Arn);
    }

    /// <summary>A table's KMS encryption is an optional member: absent for the AWS owned key (old catalogs read as that).</summary>
    [Fact]
    public void Sse_SerialisesToGoldenJson_AndOldCatalogsReadAsTheOwnedKey()
    {
        var table = Sample();
        table.Sse = new SseDefinition("KMS", "arn:aws:kms:eu-west-1:123456789012:key/0f8fad5b-d9cb-469f-a165-70867728950f");
        var json = Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(table, StorageJsonContext.Default.TableDefinition));
        Assert.Equal(GoldenTable[..^1] + ",\"Sse\":{\"SseType\":\"KMS\",\"KmsMasterKeyArn\":\"arn:aws:kms:eu-west-1:123456789012:key/0f8fad5b-d9cb-469f-a165-70867728950f\"}}", json);
        var back = JsonSerializer.Deserialize(json, StorageJsonContext.Default.TableDefinition)!;
        Assert.Equal(table.Sse, back.Sse);
        Assert.Equal(table.Sse, back.Clone().Sse);
        Assert.Null(JsonSerializer.Deserialize(GoldenTable, StorageJsonContext.Default.TableDefinition)!.Sse);
    }

    /// <summary>
    /// On-demand maximums and warm throughput (src/Engine/Capacity), of the table and of a global index: optional
    /// members, absent in older catalogs (which read as no maximum and the default warm throughput).
    /// </summary>
    [Fact]
    public void OnDemandAndWarmThroughput_SerialiseToGoldenJson_AndOldCatalogsReadWithout()
    {
        var table = Sample();
        table.OnDemandThroughput = new Serverless.Engine.Capacity.OnDemandLimits { MaxReadRequestUnits = 100, MaxWriteRequestUnits = -1 };
        table.WarmThroughput = new Serverless.Engine.Capacity.WarmThroughputDefinition { ReadUnitsPerSecond = 13000, WriteUnitsPerSecond = 5000 };
        table.Indexes =
        [
            new IndexDefinition
            {
                Name = "by-genre", Number = 9, Global = true, HashKey = new KeyAttribute("Genre", "S"), ProjectionType = "ALL",
                OnDemandThroughput = new Serverless.Engine.Capacity.OnDemandLimits { MaxReadRequestUnits = -1, MaxWriteRequestUnits = 7 },
                WarmThroughput = new Serverless.Engine.Capacity.WarmThroughputDefinition { ReadUnitsPerSecond = 12000, WriteUnitsPerSecond = 4500 },
            },
        ];
        var json = Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(table, StorageJsonContext.Default.TableDefinition));
        Assert.Equal(
            GoldenTable[..^1]
            + ",\"Indexes\":[{\"Name\":\"by-genre\",\"Number\":9,\"Global\":true,\"HashKey\":{\"Name\":\"Genre\",\"Type\":\"S\"},\"ProjectionType\":\"ALL\",\"Status\":\"ACTIVE\",\"ReadCapacityUnits\":0,\"WriteCapacityUnits\":0,"
            + "\"OnDemandThroughput\":{\"MaxReadRequestUnits\":-1,\"MaxWriteRequestUnits\":7},\"WarmThroughput\":{\"ReadUnitsPerSecond\":12000,\"WriteUnitsPerSecond\":4500}}]"
            + ",\"OnDemandThroughput\":{\"MaxReadRequestUnits\":100,\"MaxWriteRequestUnits\":-1},\"WarmThroughput\":{\"ReadUnitsPerSecond\":13000,\"WriteUnitsPerSecond\":5000}}",
            json);
        var back = JsonSerializer.Deserialize(json, StorageJsonContext.Default.TableDefinition)!.Clone();
        Assert.Equal(table.OnDemandThroughput, back.OnDemandThroughput);
        Assert.Equal(table.WarmThroughput, back.WarmThroughput);
        Assert.Equal(7, back.Indexes![0].Clone().OnDemandThroughput!.MaxWriteRequestUnits);
        Assert.Equal(4500, back.Indexes[0].WarmThroughput!.WriteUnitsPerSecond);
        var old = JsonSerializer.Deserialize(GoldenTable, StorageJsonContext.Default.TableDefinition)!;
        Assert.Null(old.OnDemandThroughput);
        Assert.Null(old.WarmThroughput);
    }

    [Fact]
    public void Manifest_RoundTripsAndKeepsMemberNames()
    {
        var manifest = new StoreManifest
        {
            FasterToken = Guid.Parse("11111111-2222-3333-4444-555555555555"), ReplayFromLsn = 42, NextTableNumber = 8,
            Tables = [Sample()], CreatedAt = 1700000200,
        };
        var json = Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(manifest, StorageJsonContext.Default.StoreManifest));
        Assert.Equal(
            "{\"Format\":1,\"FasterToken\":\"11111111-2222-3333-4444-555555555555\",\"ReplayFromLsn\":42,\"NextTableNumber\":8,\"Tables\":[" + GoldenTable + "],\"CreatedAt\":1700000200}",
            json);
        var back = JsonSerializer.Deserialize(json, StorageJsonContext.Default.StoreManifest)!;
        Assert.Equal(42UL, back.ReplayFromLsn);
        Assert.Single(back.Tables);
    }

    private const string GoldenIndexes =
        "\"Indexes\":[{\"Name\":\"by-album\",\"Number\":8,\"Global\":false,\"HashKey\":{\"Name\":\"Artist\",\"Type\":\"S\"},\"RangeKey\":{\"Name\":\"Album\",\"Type\":\"S\"},\"ProjectionType\":\"INCLUDE\",\"NonKeyAttributes\":[\"Genre\"],\"Status\":\"ACTIVE\",\"ReadCapacityUnits\":0,\"WriteCapacityUnits\":0},"
        + "{\"Name\":\"by-genre\",\"Number\":9,\"Global\":true,\"HashKey\":{\"Name\":\"Genre\",\"Type\":\"B\"},\"ProjectionType\":\"KEYS_ONLY\",\"Status\":\"CREATING\",\"ReadCapacityUnits\":3,\"WriteCapacityUnits\":4}]";

    /// <summary>
    /// TTL and index definitions are optional members: absent in tables without them (the golden above), so old
    /// records read.
    /// </summary>
    [Fact]
    public void TimeToLiveAndIndexDefinitions_SerialiseToGoldenJson_AndReadBack()
    {
        var table = Sample();
        table.TimeToLiveAttribute = "expires";
        table.Indexes =
        [
            new IndexDefinition
            {
                Name = "by-album", Number = 8, Global = false, HashKey = new KeyAttribute("Artist", "S"), RangeKey = new KeyAttribute("Album", "S"),
                ProjectionType = "INCLUDE", NonKeyAttributes = ["Genre"],
            },
            new IndexDefinition
            {
                Name = "by-genre", Number = 9, Global = true, HashKey = new KeyAttribute("Genre", "B"), ProjectionType = "KEYS_ONLY",
                Status = "CREATING", ReadCapacityUnits = 3, WriteCapacityUnits = 4,
            },
        ];
        var json = Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(table, StorageJsonContext.Default.TableDefinition));
        Assert.Equal(GoldenTable[..^1] + ",\"TimeToLiveAttribute\":\"expires\"," + GoldenIndexes + "}", json);
        var back = JsonSerializer.Deserialize(json, StorageJsonContext.Default.TableDefinition)!;
        Assert.Equal("expires", back.TimeToLiveAttribute);
        Assert.Equal(2, back.Indexes!.Count);
        Assert.Equal(9u, back.Indexes[1].Number);
        Assert.Null(back.Indexes[1].RangeKey);
        Assert.Equal(["Genre"], back.Indexes[0].NonKeyAttributes!);
        Assert.Null(JsonSerializer.Deserialize(GoldenTable, StorageJsonContext.Default.TableDefinition)!.Indexes);
    }

    /// <summary>Streams, point-in-time recovery and restore members, all optional (absent in the golden table above).</summary>
    [Fact]
    public void StreamRecoveryAndRestoreMembers_SerialiseToGoldenJson()
    {
        var table = Sample();
        table.StreamViewType = "NEW_IMAGE";
        table.Streams = [new StreamDefinition { Label = "2026-11-29T21:30:00.123", ViewType = "NEW_IMAGE", StartLsn = 42, CreatedAt = 1700000300.5 }];
        table.RecoveryPeriodInDays = 7;
        table.RecoveryEnabledAt = 1700000400;
        table.Restore = new RestoreSummary { SourceTableArn = "arn:aws:dynamodb:eu-west-1:123456789012:table/Old", RestoreDateTime = 1700000500, InProgress = true };
        var json = Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(table, StorageJsonContext.Default.TableDefinition));
        Assert.Equal(
            GoldenTable[..^1]
            + ",\"StreamViewType\":\"NEW_IMAGE\",\"Streams\":[{\"Label\":\"2026-11-29T21:30:00.123\",\"ViewType\":\"NEW_IMAGE\",\"StartLsn\":42,\"EndLsn\":0,\"CreatedAt\":1700000300.5}]"
            + ",\"RecoveryPeriodInDays\":7,\"RecoveryEnabledAt\":1700000400"
            + ",\"Restore\":{\"SourceTableArn\":\"arn:aws:dynamodb:eu-west-1:123456789012:table/Old\",\"RestoreDateTime\":1700000500,\"InProgress\":true}}",
            json);
        var back = JsonSerializer.Deserialize(json, StorageJsonContext.Default.TableDefinition)!;
        Assert.Equal(42UL, back.Streams![0].StartLsn);
        Assert.Equal(7, back.RecoveryPeriodInDays);
        Assert.True(back.Restore!.InProgress);
    }

    /// <summary>Resource policies of the table and of each stream: optional members, absent in older records.</summary>
    [Fact]
    public void ResourcePolicies_SerialiseToGoldenJson_AndOldRecordsHaveNone()
    {
        var table = Sample();
        table.ResourcePolicy = new ResourcePolicyDefinition { Document = "{\"Version\":\"2012-10-17\"}", RevisionId = "1700000600123" };
        table.Streams = [new StreamDefinition
        {
            Label = "2026-11-29T21:30:00.123", ViewType = "KEYS_ONLY", StartLsn = 1, CreatedAt = 1700000300.5,
            ResourcePolicy = new ResourcePolicyDefinition { Document = "{}", RevisionId = "1700000700000" },
        }];
        var json = Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(table, StorageJsonContext.Default.TableDefinition));
        Assert.Equal(
            GoldenTable[..^1]
            + ",\"Streams\":[{\"Label\":\"2026-11-29T21:30:00.123\",\"ViewType\":\"KEYS_ONLY\",\"StartLsn\":1,\"EndLsn\":0,\"CreatedAt\":1700000300.5,\"ResourcePolicy\":{\"Document\":\"{}\",\"RevisionId\":\"1700000700000\"}}]"
            + ",\"ResourcePolicy\":{\"Document\":\"{\\u0022Version\\u0022:\\u00222012-10-17\\u0022}\",\"RevisionId\":\"1700000600123\"}}",
            json);
        var back = JsonSerializer.Deserialize(json, StorageJsonContext.Default.TableDefinition)!;
        Assert.Equal("{\"Version\":\"2012-10-17\"}", back.ResourcePolicy!.Document);
        Assert.Equal("1700000700000", back.Streams![0].ResourcePolicy!.RevisionId);
        Assert.Equal("1700000600123", back.Clone().ResourcePolicy!.RevisionId);
        var old = JsonSerializer.Deserialize(GoldenTable, StorageJsonContext.Default.TableDefinition)!;
        Assert.Null(old.ResourcePolicy);
    }

    /// <summary>The backup file layout (version 2): magic, metadata JSON, items up to an end mark, count, CRC32.</summary>
    [Fact]
    public void BackupFile_EncodesToGoldenBytes_AndDecodes()
    {
        var meta = new BackupMeta
        {
            Arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/Music/backup/01700000000000-abcdef12", Name = "nightly",
            CreatedAt = 1700000000.5, SizeBytes = 3, ItemCount = 1, Table = Sample(),
        };
        var bytes = BackupStore.Encode(meta, [([0, 0, 0, 7, 1], [3, 9, 9, 9])]);
        var json = JsonSerializer.SerializeToUtf8Bytes(meta, BackupJsonContext.Default.BackupMeta);
        Assert.Equal("DDBBACKUP2"u8.ToArray(), bytes[..10]);
        Assert.Equal(json.Length, BitConverter.ToInt32(bytes, 10));
        Assert.StartsWith("{\"Arn\":\"arn:aws:dynamodb:eu-west-1:123456789012:table/Music/backup/01700000000000-abcdef12\",\"Name\":\"nightly\",\"CreatedAt\":1700000000.5,\"SizeBytes\":3,\"ItemCount\":1,\"Type\":\"USER\",\"Table\":{\"Name\":\"Music\"", Encoding.UTF8.GetString(json));
        Assert.Equal(
            "05-00-00-00-07-01-04-03-09-09-09-00-01-00-00-00-00-00-00-00",
            BitConverter.ToString(bytes[(14 + json.Length)..^4]));
        Assert.Equal(Crc32.Compute(bytes.AsSpan(0, bytes.Length - 4)), BitConverter.ToUInt32(bytes, bytes.Length - 4));
        var (back, items) = BackupStore.Decode(bytes);
        Assert.Equal("nightly", back.Name);
        Assert.Equal([3, 9, 9, 9], Assert.Single(items).Stored);
        bytes[20] ^= 1;
        Assert.Throws<InvalidDataException>(() => BackupStore.Decode(bytes));
    }

    /// <summary>Backups written before version 2 (the count before the items) are still read.</summary>
    [Fact]
    public void BackupFile_Version1_IsStillRead()
    {
        var meta = new BackupMeta
        {
            Arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/Music/backup/01700000000000-abcdef12", Name = "nightly",
            CreatedAt = 1700000000.5, SizeBytes = 3, ItemCount = 2, Table = Sample(),
        };
        var json = JsonSerializer.SerializeToUtf8Bytes(meta, BackupJsonContext.Default.BackupMeta);
        var v1 = new List<byte>();
        v1.AddRange("DDBBACKUP1"u8.ToArray());
        v1.AddRange(BitConverter.GetBytes((uint)json.Length));
        v1.AddRange(json);
        v1.AddRange(Convert.FromHexString("0200000000000000" + "050000000701" + "0403090909" + "050000000702" + "0105"));
        v1.AddRange(BitConverter.GetBytes(Crc32.Compute(v1.ToArray())));
        var (back, items) = BackupStore.Decode(v1.ToArray());
        Assert.Equal("nightly", back.Name);
        Assert.Equal(2, items.Count);
        Assert.Equal([0, 0, 0, 7, 1], items[0].Key);
        Assert.Equal([3, 9, 9, 9], items[0].Stored);
        Assert.Equal([0, 0, 0, 7, 2], items[1].Key);
        Assert.Equal([5], items[1].Stored);

        // A version 1 file in a backups directory lists and restores.
        var dir = Directory.CreateTempSubdirectory("backups-v1-").FullName;
        try
        {
            File.WriteAllBytes(Path.Combine(dir, "01700000000000-abcdef12.bak"), SealedFile.Seal(TestKeys.Cipher, SealedKind.Backup, v1.ToArray()));
            var store = new BackupStore(dir, TestKeys.Cipher);
            Assert.Equal(2, Assert.Single(store.List()).ItemCount);
            Assert.Equal(2, store.ReadItems(meta.Arn).Count());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>On disk a backup is that layout sealed with the store's data key (kind 2); a damaged one is not listed.</summary>
    [Fact]
    public async Task BackupFile_OnDisk_IsSealed_AndADamagedOneIsNotListed()
    {
        var dir = Directory.CreateTempSubdirectory("backups-").FullName;
        try
        {
            var meta = new BackupMeta
            {
                Arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/Music/backup/01700000000000-abcdef12", Name = "nightly",
                CreatedAt = 1700000000.5, SizeBytes = 3, ItemCount = 1, Table = Sample(),
            };
            await new BackupStore(dir, TestKeys.Cipher).AddAsync(meta, [([0, 0, 0, 7, 1], [3, 9, 9, 9])]);
            var path = Directory.GetFiles(dir, "*.bak").Single();
            var onDisk = File.ReadAllBytes(path);
            Assert.Equal("DDBSEAL1"u8.ToArray(), onDisk[..8]);
            Assert.Equal((byte)SealedKind.Backup, onDisk[8]);
            Assert.Equal(BackupStore.Encode(meta, [([0, 0, 0, 7, 1], [3, 9, 9, 9])]), SealedFile.Open(onDisk, TestKeys.Cipher, SealedKind.Backup, path));
            Assert.Equal(-1, onDisk.AsSpan().IndexOf("nightly"u8));

            var reopened = new BackupStore(dir, TestKeys.Cipher);
            Assert.Equal([3, 9, 9, 9], Assert.Single(reopened.ReadItems(meta.Arn)).Stored);
            onDisk[onDisk.Length / 2] ^= 1;
            File.WriteAllBytes(path, onDisk);
            Assert.Empty(new BackupStore(dir, TestKeys.Cipher).List());
            Assert.True(File.Exists(path)); // kept for inspection
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static TableDefinition Sample() => new()
    {
        Name = "Music", TableNumber = 7, TableId = "0f8fad5b-d9cb-469f-a165-70867728950e", Region = "eu-west-1", AccountId = "123456789012",
        HashKey = new KeyAttribute("Artist", "S"), RangeKey = new KeyAttribute("Year", "N"),
        AttributeDefinitions = [new KeyAttribute("Artist", "S"), new KeyAttribute("Year", "N")],
        BillingMode = "PROVISIONED", ReadCapacityUnits = 5, WriteCapacityUnits = 10, LastIncreaseDateTime = 1700000100.5,
        TableClass = "STANDARD_INFREQUENT_ACCESS", DeletionProtectionEnabled = true, CreationDateTime = 1700000000.25,
        Tags = new Dictionary<string, string> { ["team"] = "audio" },
    };
}
