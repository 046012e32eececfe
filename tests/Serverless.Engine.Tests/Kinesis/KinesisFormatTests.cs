using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Serverless.Engine.Kinesis;
using Serverless.Engine.Security.Encryption;
using Serverless.Engine.Storage;
using Serverless.Engine.Tests.Security;

namespace Serverless.Engine.Tests.Kinesis;

/// <summary>
/// The persisted formats of the Kinesis service: a shard segment's frame, the stream catalog, the delivery
/// checkpoint and a table's destinations in its catalog entry. Changing any of them would lose a year of records
/// or re-deliver every change after an upgrade; these golden values guard them.
/// </summary>
public class KinesisFormatTests
{
    // u32 n | nonce (prefix 01..08, counter 0) | ciphertext of (counter 7, arrival 1796142903344 ms, key "pk", data "hello") | tag
    private const string GoldenFrame = "35000000010203040506070800000000545D78FA4B05504A18035103C9282E965C919FCE978A0203AD54690E02AB4DD86AA91E2A07C9FBDBC0";

    private const string GoldenCatalog =
        "{\"Format\":1,\"Streams\":[{\"Name\":\"orders\",\"Region\":\"us-east-1\",\"AccountId\":\"000000000000\",\"CreatedMs\":1796142903344," +
        "\"Mode\":\"PROVISIONED\",\"RetentionHours\":8760,\"Tags\":{\"team\":\"data\"},\"Shards\":[" +
        "{\"Index\":0,\"StartingHashKey\":\"0\",\"EndingHashKey\":\"170141183460469231731687303715884105727\"}," +
        "{\"Index\":1,\"StartingHashKey\":\"170141183460469231731687303715884105728\",\"EndingHashKey\":\"340282366920938463463374607431768211455\"}]}]}";

    // After a split of shard 0 at 2^126 and an UpdateShardCount: a closed parent, two children, and the update's time.
    private const string GoldenReshardedCatalog =
        "{\"Format\":1,\"Streams\":[{\"Name\":\"orders\",\"Region\":\"us-east-1\",\"AccountId\":\"000000000000\",\"CreatedMs\":1796142903344," +
        "\"Mode\":\"PROVISIONED\",\"RetentionHours\":24,\"Tags\":{},\"Shards\":[" +
        "{\"Index\":0,\"StartingHashKey\":\"0\",\"EndingHashKey\":\"340282366920938463463374607431768211455\",\"ClosedMs\":1796142904000}," +
        "{\"Index\":1,\"StartingHashKey\":\"0\",\"EndingHashKey\":\"85070591730234615865843651857942052863\",\"ParentIndex\":0,\"CreatedMs\":1796142904000}," +
        "{\"Index\":2,\"StartingHashKey\":\"85070591730234615865843651857942052864\",\"EndingHashKey\":\"340282366920938463463374607431768211455\",\"ParentIndex\":0,\"CreatedMs\":1796142904000}]," +
        "\"ShardCountUpdates\":[1796142904000]}]}";

    private const string GoldenCheckpoint = "{\"Format\":1,\"Lsn\":42,\"Item\":3,\"Segment\":17,\"Offset\":4096}";

    private const string GoldenDestinations =
        "\"KinesisDestinations\":[{\"StreamArn\":\"arn:aws:kinesis:us-east-1:000000000000:stream/orders\",\"Status\":\"ACTIVE\"," +
        "\"Precision\":\"MILLISECOND\",\"StartLsn\":5,\"EndLsn\":0}]";

    [Fact]
    public void SegmentFrame_EncodesToGoldenBytes()
    {
        using var sealer = TestKeys.FixedRecords();
        var data = "hello"u8;
        var frame = new byte[4 + 12 + 18 + 2 + data.Length + 16];
        ShardLog.EncodeFrame(sealer, frame, segmentFirst: 1, counter: 7, arrivalMs: 1796142903344, "pk", 2, data);
        Assert.Equal(GoldenFrame, Convert.ToHexString(frame));
    }

    [Fact]
    public void SegmentFile_WithGoldenFrame_IsRead()
    {
        var directory = Directory.CreateTempSubdirectory("kds-golden-").FullName;
        var bytes = Encoding.ASCII.GetBytes("KDSSEG01").Concat(Convert.FromHexString(GoldenFrame)).ToArray();
        File.WriteAllBytes(Path.Combine(directory, "00000000000000000001.seg"), bytes);
        // The golden frame holds place 7 in a segment that starts at 1: the reader takes its place from the frame.
        using var log = ShardLog.Open(directory, TestKeys.Cipher, 1 << 20, sync: false);
        Assert.Equal(7UL, log.LastCounter);
        var records = new List<KinesisRecord>();
        var hint = default(ShardReadHint);
        log.Read(1, ref hint, 10, 1 << 20, records);
        var record = Assert.Single(records);
        Assert.Equal((7UL, 1796142903344L, "pk", "hello"), (record.Counter, record.ArrivalMs, record.PartitionKey, Encoding.UTF8.GetString(record.Data)));
    }

    [Fact]
    public void Catalog_SerialisesToGoldenJson_AndReadsBack()
    {
        var catalog = new KinesisCatalog
        {
            Streams =
            [
                new KinesisStreamDefinition
                {
                    Name = "orders", Region = "us-east-1", AccountId = "000000000000", CreatedMs = 1796142903344, Mode = "PROVISIONED",
                    RetentionHours = 8760, Tags = new Dictionary<string, string> { ["team"] = "data" }, Shards = ShardDefinition.Split(2),
                },
            ],
        };
        Assert.Equal(GoldenCatalog, Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(catalog, KinesisJsonContext.Default.KinesisCatalog)));

        var root = Directory.CreateTempSubdirectory("kds-catalog-").FullName;
        File.WriteAllBytes(Path.Combine(root, "catalog.json"), SealedFile.Seal(TestKeys.Cipher, SealedKind.KinesisCatalog, Encoding.UTF8.GetBytes(GoldenCatalog)));
        using var store = KinesisStore.Open(root, TestKeys.Cipher, new KinesisOptions(), sync: false);
        var stream = Assert.Single(store.List());
        Assert.Equal("arn:aws:kinesis:us-east-1:000000000000:stream/orders", stream.Definition.Arn);
        Assert.Equal(8760, stream.Definition.RetentionHours);
        Assert.Equal(2, stream.Shards.Length);
    }

    [Fact]
    public void ReshardedCatalog_SerialisesToGoldenJson_AndReopensWithTheParentClosed()
    {
        var root = Directory.CreateTempSubdirectory("kds-reshard-").FullName;
        using (var store = KinesisStore.Open(root, TestKeys.Cipher, new KinesisOptions(), sync: false))
        {
            var definition = new KinesisStreamDefinition
            {
                Name = "orders", Region = "us-east-1", AccountId = "000000000000", CreatedMs = 1796142903344, Mode = "PROVISIONED",
                Shards = ShardDefinition.Split(1),
            };
            Assert.True(store.TryCreate(definition, out var created));
            Assert.Equal(1UL, created.Shards[0].Log.Append("k", "before"u8, 1796142903500));
            var split = (System.Numerics.BigInteger.One << 126).ToString();
            store.Reshard(created, s =>
            {
                s.Definition.ShardCountUpdates = [1796142904000];
                return ([0],
                [
                    new ShardDefinition { Index = 1, StartingHashKey = "0", EndingHashKey = (System.Numerics.BigInteger.Parse(split) - 1).ToString(), ParentIndex = 0, CreatedMs = 1796142904000 },
                    new ShardDefinition { Index = 2, StartingHashKey = split, EndingHashKey = "340282366920938463463374607431768211455", ParentIndex = 0, CreatedMs = 1796142904000 },
                ]);
            }, 1796142904000);
            Assert.Equal(0UL, created.Shards[0].Log.Append("k", "after"u8, 1796142904100)); // a closed shard takes nothing
            Assert.Equal(2, created.ShardFor(UInt128.MaxValue).Index);
        }

        var catalog = JsonSerializer.Deserialize(SealedFile.ReadFile(Path.Combine(root, "catalog.json"), TestKeys.Cipher, SealedKind.KinesisCatalog), KinesisJsonContext.Default.KinesisCatalog)!;
        Assert.Equal(GoldenReshardedCatalog, Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(catalog, KinesisJsonContext.Default.KinesisCatalog)));

        using var reopened = KinesisStore.Open(root, TestKeys.Cipher, new KinesisOptions(), sync: false);
        var stream = Assert.Single(reopened.List());
        Assert.Equal(3, stream.Shards.Length);
        Assert.Equal([1, 2], stream.OpenShards.Select(s => s.Index));
        Assert.True(stream.Shards[0].Log.IsClosed);
        Assert.Equal(1UL, stream.Shards[0].Log.LastCounter);
        Assert.Equal(0UL, stream.Shards[0].Log.Append("k", "late"u8, 1796142905000));
        Assert.Equal(1, stream.ShardFor(5).Index);
        Assert.Equal(1, reopened.OpenShardCount() - 1);
    }

    [Fact]
    public void DeliveryCheckpoint_SerialisesToGoldenJson()
    {
        var checkpoint = new KinesisDeliveryCheckpoint { Lsn = 42, Item = 3, Segment = 17, Offset = 4096 };
        Assert.Equal(GoldenCheckpoint, Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(checkpoint, KinesisDeliveryJsonContext.Default.KinesisDeliveryCheckpoint)));
        Assert.Equal(checkpoint, JsonSerializer.Deserialize(GoldenCheckpoint, KinesisDeliveryJsonContext.Default.KinesisDeliveryCheckpoint));
    }

    [Fact]
    public void TableDestinations_SerialiseToGoldenJson()
    {
        var table = new TableDefinition
        {
            Name = "Orders", TableNumber = 1, TableId = Guid.Empty.ToString(), Region = "us-east-1", AccountId = "000000000000",
            HashKey = new KeyAttribute("pk", "S"), AttributeDefinitions = [new KeyAttribute("pk", "S")], CreationDateTime = 0,
            KinesisDestinations = [new KinesisDestinationDefinition { StreamArn = "arn:aws:kinesis:us-east-1:000000000000:stream/orders", Status = "ACTIVE", Precision = "MILLISECOND", StartLsn = 5 }],
        };
        var json = Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(table, StorageJsonContext.Default.TableDefinition));
        Assert.Contains(GoldenDestinations, json);
        var back = JsonSerializer.Deserialize(json, StorageJsonContext.Default.TableDefinition)!;
        Assert.Equal(table.KinesisDestinations[0], Assert.Single(back.KinesisDestinations!));
        Assert.Equal(table.KinesisDestinations[0], table.Clone().KinesisDestinations![0]);
    }

    [Fact]
    public void SequenceNumbers_EncodeStreamShardAndPlace()
    {
        var text = SequenceNumbers.Format(1796142903344, 3, 12345);
        Assert.Equal("49179614290334400000300000000000000012345", text);
        Assert.True(SequenceNumbers.TryParse(text, out var created, out var shard, out var counter));
        Assert.Equal((1796142903344L, 3, 12345UL), (created, shard, counter));
    }

    [Fact]
    public void HashKey_IsTheBigEndianMd5OfThePartitionKey()
    {
        var expected = System.Numerics.BigInteger.Parse("0" + Convert.ToHexString(MD5.HashData("customer-42"u8)), System.Globalization.NumberStyles.HexNumber);
        Assert.Equal(expected.ToString(), KinesisStream.HashKeyOf("customer-42").ToString());
    }
}
