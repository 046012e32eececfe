using System.Numerics;
using System.Security.Cryptography;
using System.Text.Json.Serialization;

namespace Serverless.Engine.Kinesis;

/// <summary>
/// A stream as persisted in the Kinesis catalog (<c>{data}/kinesis/catalog.json</c>, sealed). Add members only with
/// defaults that read old catalogs correctly; a golden test guards the field names.
/// </summary>
public sealed class KinesisStreamDefinition
{
    public required string Name { get; init; }

    public required string Region { get; init; }

    public required string AccountId { get; init; }

    /// <summary>Milliseconds since the epoch; also part of every sequence number, so a re-created stream never accepts the old one's.</summary>
    public required long CreatedMs { get; init; }

    /// <summary>PROVISIONED or ON_DEMAND.</summary>
    public required string Mode { get; set; }

    public int RetentionHours { get; set; } = 24;

    public Dictionary<string, string> Tags { get; set; } = new(StringComparer.Ordinal);

    public required List<ShardDefinition> Shards { get; init; }

    [JsonIgnore]
    public string Arn => $"arn:aws:kinesis:{Region}:{AccountId}:stream/{Name}";

    /// <summary>A consumer's ARN as AWS forms it: the stream's ARN, the consumer's name and its creation time in seconds.</summary>
    public string ConsumerArn(string consumerName, long createdSeconds) => $"{Arn}/consumer/{consumerName}:{createdSeconds}";

    /// <summary>Folder of the stream's shards, under the Kinesis folder: the name and creation time, so a re-created stream starts empty.</summary>
    [JsonIgnore]
    public string FolderName => $"{Name}-{CreatedMs}";
}

/// <summary>A shard as persisted: its index (shardId-000000000003 is index 3) and hash-key range, as decimal strings.</summary>
public sealed record ShardDefinition
{
    public required int Index { get; init; }

    public required string StartingHashKey { get; init; }

    public required string EndingHashKey { get; init; }

    /// <summary>
    /// The shards of a new stream: 2^128 hash keys split evenly (the last shard takes the remainder up to 2^128 - 1),
    /// as Kinesis splits them.
    /// </summary>
    public static List<ShardDefinition> Split(int count)
    {
        var full = BigInteger.One << 128;
        var size = full / count;
        var shards = new List<ShardDefinition>(count);
        for (var i = 0; i < count; i++)
        {
            var start = size * i;
            var end = i == count - 1 ? full - 1 : size * (i + 1) - 1;
            shards.Add(new ShardDefinition { Index = i, StartingHashKey = start.ToString(), EndingHashKey = end.ToString() });
        }

        return shards;
    }
}

/// <summary>A stream while the engine runs: its definition, and for each shard its records and limits.</summary>
public sealed class KinesisStream
{
    internal KinesisStream(KinesisStreamDefinition definition, Shard[] shards)
    {
        Definition = definition;
        Shards = shards;
    }

    public KinesisStreamDefinition Definition { get; }

    public string Name => Definition.Name;

    public Shard[] Shards { get; }

    /// <summary>Set once DeleteStream has removed it: writers that still hold it fail as if it never existed.</summary>
    public bool Deleted { get; internal set; }

    /// <summary>The shard whose hash-key range holds <paramref name="hashKey"/> (the ranges cover all of 0 … 2^128 - 1).</summary>
    public Shard ShardFor(UInt128 hashKey)
    {
        var lo = 0;
        var hi = Shards.Length - 1;
        while (lo < hi)
        {
            var mid = (lo + hi + 1) / 2;
            if (Shards[mid].StartingHashKey <= hashKey) lo = mid;
            else hi = mid - 1;
        }

        return Shards[lo];
    }

    /// <summary>The 128-bit hash key of a partition key: its UTF-8 bytes' MD5, read as a big-endian number, as Kinesis hashes it.</summary>
    public static UInt128 HashKeyOf(string partitionKey)
    {
        Span<byte> utf8 = partitionKey.Length <= 256 ? stackalloc byte[1024] : new byte[System.Text.Encoding.UTF8.GetByteCount(partitionKey)];
        var n = System.Text.Encoding.UTF8.GetBytes(partitionKey, utf8);
        Span<byte> digest = stackalloc byte[16];
        MD5.HashData(utf8[..n], digest);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(digest);
    }
}

/// <summary>One shard: its range, its records and the per-second windows of its limits.</summary>
public sealed class Shard
{
    public const int MaxWriteRecordsPerSecond = 1000;
    public const long MaxWriteBytesPerSecond = 1024 * 1024;
    public const int MaxReadCallsPerSecond = 5;
    public const long MaxReadBytesPerSecond = 2 * 1024 * 1024;

    private readonly object _limits = new();
    private long _writeSecond = long.MinValue;
    private int _writeRecords;
    private long _writeBytes;
    private long _readSecond = long.MinValue;
    private int _readCalls;
    private long _readBytes;

    internal Shard(ShardDefinition definition, ShardLog log)
    {
        Definition = definition;
        Log = log;
        Id = SequenceNumbers.ShardId(definition.Index);
        StartingHashKey = UInt128.Parse(definition.StartingHashKey, System.Globalization.CultureInfo.InvariantCulture);
        EndingHashKey = UInt128.Parse(definition.EndingHashKey, System.Globalization.CultureInfo.InvariantCulture);
    }

    public ShardDefinition Definition { get; }

    public string Id { get; }

    public int Index => Definition.Index;

    public UInt128 StartingHashKey { get; }

    public UInt128 EndingHashKey { get; }

    public ShardLog Log { get; }

    /// <summary>
    /// Takes room for a write of <paramref name="records"/> records and <paramref name="bytes"/> bytes (data plus
    /// partition keys) in this second's window; false when it would pass 1,000 records or 1 MiB.
    /// </summary>
    public bool TryAdmitWrite(long nowMs, int records, long bytes)
    {
        var second = nowMs / 1000;
        lock (_limits)
        {
            if (second != _writeSecond)
            {
                _writeSecond = second;
                _writeRecords = 0;
                _writeBytes = 0;
            }

            if (_writeRecords + records > MaxWriteRecordsPerSecond || _writeBytes + bytes > MaxWriteBytesPerSecond) return false;
            _writeRecords += records;
            _writeBytes += bytes;
            return true;
        }
    }

    /// <summary>Counts a GetRecords call in this second's window; false past five calls, or once 2 MiB have been read this second.</summary>
    public bool TryAdmitRead(long nowMs)
    {
        var second = nowMs / 1000;
        lock (_limits)
        {
            if (second != _readSecond)
            {
                _readSecond = second;
                _readCalls = 0;
                _readBytes = 0;
            }

            if (_readCalls >= MaxReadCallsPerSecond || _readBytes >= MaxReadBytesPerSecond) return false;
            _readCalls++;
            return true;
        }
    }

    public void CountRead(long nowMs, long bytes)
    {
        lock (_limits)
        {
            if (nowMs / 1000 == _readSecond) _readBytes += bytes;
        }
    }
}
