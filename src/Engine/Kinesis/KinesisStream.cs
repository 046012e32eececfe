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

    /// <summary>When each UpdateShardCount ran (ms since the epoch), for its ten-per-rolling-24-hours limit; null when none did.</summary>
    public List<long>? ShardCountUpdates { get; set; }

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

    /// <summary>The shard a split or merge closed to make this one (null for a stream's first shards).</summary>
    public int? ParentIndex { get; init; }

    /// <summary>The second shard a merge closed to make this one.</summary>
    public int? AdjacentParentIndex { get; init; }

    /// <summary>When a split or merge made this shard (ms since the epoch); null: with its stream.</summary>
    public long? CreatedMs { get; init; }

    /// <summary>When a split or merge closed this shard (ms since the epoch); null while it is open.</summary>
    public long? ClosedMs { get; init; }

    /// <summary>
    /// The shards of a new stream: 2^128 hash keys split evenly (the last shard takes the remainder up to 2^128 - 1),
    /// as Kinesis splits them.
    /// </summary>
    public static List<ShardDefinition> Split(int count)
    {
        var starts = UniformStarts(count);
        var full = BigInteger.One << 128;
        var shards = new List<ShardDefinition>(count);
        for (var i = 0; i < count; i++)
        {
            var end = i == count - 1 ? full - 1 : starts[i + 1] - 1;
            shards.Add(new ShardDefinition { Index = i, StartingHashKey = starts[i].ToString(), EndingHashKey = end.ToString() });
        }

        return shards;
    }

    /// <summary>The starting hash keys of <paramref name="count"/> equal shards over all of 0 … 2^128 - 1.</summary>
    public static BigInteger[] UniformStarts(int count)
    {
        var size = (BigInteger.One << 128) / count;
        var starts = new BigInteger[count];
        for (var i = 0; i < count; i++) starts[i] = size * i;
        return starts;
    }
}

/// <summary>A stream while the engine runs: its definition, and for each shard its records and limits.</summary>
public sealed class KinesisStream
{
    private Shard[] _shards = [];
    private Shard[] _open = [];

    internal KinesisStream(KinesisStreamDefinition definition, Shard[] shards)
    {
        Definition = definition;
        Publish(shards);
    }

    public KinesisStreamDefinition Definition { get; }

    public string Name => Definition.Name;

    /// <summary>Every shard, open or closed, by index (<c>Shards[i].Index == i</c>).</summary>
    public Shard[] Shards => Volatile.Read(ref _shards);

    /// <summary>The open shards, in hash-key order: their ranges cover all of 0 … 2^128 - 1 exactly once.</summary>
    public Shard[] OpenShards => Volatile.Read(ref _open);

    /// <summary>Makes a new set of shards (after a split or merge) the one readers and writers see.</summary>
    internal void Publish(Shard[] shards)
    {
        var open = new List<Shard>(shards.Length);
        foreach (var s in shards)
            if (s.Definition.ClosedMs == null) open.Add(s);
        open.Sort(static (a, b) => a.StartingHashKey.CompareTo(b.StartingHashKey));
        Volatile.Write(ref _shards, shards);
        Volatile.Write(ref _open, open.ToArray());
    }

    /// <summary>
    /// Appends a record to the open shard of <paramref name="hashKey"/>, taking room in its write limits first when
    /// <paramref name="enforce"/>; false (with the shard) when the shard refused it. A shard closed by a concurrent
    /// split or merge refuses the append, and the record is routed again, to the child that now owns its hash key.
    /// </summary>
    public bool TryAppend(UInt128 hashKey, string partitionKey, ReadOnlySpan<byte> data, long nowMs, bool enforce, out Shard shard, out ulong counter)
    {
        var bytes = data.Length + System.Text.Encoding.UTF8.GetByteCount(partitionKey);
        while (true)
        {
            shard = ShardFor(hashKey);
            if (enforce && !shard.TryAdmitWrite(nowMs, 1, bytes))
            {
                counter = 0;
                return false;
            }

            counter = shard.Log.Append(partitionKey, data, nowMs);
            if (counter != 0) return true;
            Thread.Yield(); // closed between routing and appending: the children are published already
        }
    }

    /// <summary>Set once DeleteStream has removed it: writers that still hold it fail as if it never existed.</summary>
    public bool Deleted { get; internal set; }

    /// <summary>The open shard whose hash-key range holds <paramref name="hashKey"/> (the open ranges cover all of 0 … 2^128 - 1).</summary>
    public Shard ShardFor(UInt128 hashKey)
    {
        var open = OpenShards;
        var lo = 0;
        var hi = open.Length - 1;
        while (lo < hi)
        {
            var mid = (lo + hi + 1) / 2;
            if (open[mid].StartingHashKey <= hashKey) lo = mid;
            else hi = mid - 1;
        }

        return open[lo];
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

    /// <summary>The shard as persisted; replaced (with <see cref="ShardDefinition.ClosedMs"/>) when a split or merge closes it.</summary>
    public ShardDefinition Definition { get; internal set; }

    public string Id { get; }

    /// <summary>True once a split or merge closed the shard.</summary>
    public bool IsClosed => Definition.ClosedMs != null;

    /// <summary>
    /// True when the shard is closed and its whole life lies before <paramref name="cutoffMs"/> (the retention
    /// horizon): every record it had is trimmed, and it is no longer listed.
    /// </summary>
    public bool IsExpired(long cutoffMs) => Definition.ClosedMs is { } closed && closed < cutoffMs;

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
