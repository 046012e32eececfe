using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using Serverless.Engine.Operations;

namespace Serverless.Engine.Kinesis;

/// <summary>
/// A shard iterator: where a reader is, and when the iterator was issued (it is valid five minutes). Encoded as
/// base64 of a versioned binary form with a CRC, so a damaged or invented one is refused.
/// </summary>
internal readonly record struct ShardIterator(string StreamName, long StreamCreatedMs, int ShardIndex, ulong Counter, ShardReadHint Hint, long IssuedMs)
{
    public const long LifetimeMilliseconds = 300_000;

    public string Encode()
    {
        var name = Encoding.UTF8.GetBytes(StreamName);
        var bytes = new byte[1 + 8 + 8 + 4 + 8 + 8 + 8 + name.Length + 4];
        bytes[0] = 1;
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(1), IssuedMs);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(9), StreamCreatedMs);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(17), ShardIndex);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(21), Counter);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(29), Hint.SegmentFirst);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(37), Hint.Offset);
        name.CopyTo(bytes, 45);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(bytes.Length - 4), Crc32.Compute(bytes.AsSpan(0, bytes.Length - 4)));
        return Convert.ToBase64String(bytes);
    }

    public static bool TryDecode(string? text, out ShardIterator iterator)
    {
        iterator = default;
        if (text is null || text.Length is < 1 or > 4096) return false;
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(text);
        }
        catch (FormatException)
        {
            return false;
        }

        if (bytes.Length < 50 || bytes[0] != 1) return false;
        if (BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(bytes.Length - 4)) != Crc32.Compute(bytes.AsSpan(0, bytes.Length - 4))) return false;
        iterator = new ShardIterator(
            Encoding.UTF8.GetString(bytes, 45, bytes.Length - 49),
            BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(9)),
            BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(17)),
            BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(21)),
            new ShardReadHint(BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(29)), BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(37))),
            BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(1)));
        return true;
    }
}

internal static partial class KinesisOperations
{
    private const int MaxDataBytes = 1024 * 1024;
    private const int MaxPutRecords = 500;
    private const long MaxPutRecordsBytes = 5L * 1024 * 1024;
    private const int MaxGetRecords = 10000;
    private const long MaxGetRecordsBytes = 10L * 1024 * 1024;
    private static readonly BigInteger MaxHashKey = (BigInteger.One << 128) - 1;

    public static ValueTask PutRecordAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var stream = Resolve(ctx, req);
        var (key, data, hash) = ReadEntry(req, "");
        if (Req.String(req, "SequenceNumberForOrdering") is { } ordering && !SequenceNumbers.IsWellFormed(ordering))
            throw KinesisErrors.Constraint(ordering, "sequenceNumberForOrdering", "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,128})");
        var shard = stream.ShardFor(hash);
        var now = ctx.Engine.Time.GetUtcNow().ToUnixTimeMilliseconds();
        var store = ctx.Engine.Kinesis;
        if (store.Options.EnforceShardLimits && !shard.TryAdmitWrite(now, 1, data.Length + Encoding.UTF8.GetByteCount(key)))
            throw KinesisErrors.WriteThroughputExceeded(shard.Id, stream.Name, ctx.Engine.Options.AccountId);
        var counter = shard.Log.Append(key, data, now);
        w.WriteStartObject();
        w.WriteString("ShardId"u8, shard.Id);
        w.WriteString("SequenceNumber"u8, SequenceNumbers.Format(stream.Definition.CreatedMs, shard.Index, counter));
        w.WriteEndObject();
        return ValueTask.CompletedTask;
    }

    public static ValueTask PutRecordsAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var records = Req.List(req, "Records") ?? throw KinesisErrors.Constraint(null, "records", "Member must not be null");
        var count = records.GetArrayLength();
        if (count < 1) throw KinesisErrors.Constraint("[]", "records", "Member must have length greater than or equal to 1");
        if (count > MaxPutRecords) throw KinesisErrors.Constraint("[...]", "records", "Member must have length less than or equal to 500");
        var entries = new (string Key, byte[] Data, UInt128 Hash)[count];
        long total = 0;
        var i = 0;
        foreach (var r in records.EnumerateArray())
        {
            if (r.ValueKind != JsonValueKind.Object) throw KinesisErrors.Serialization("");
            entries[i] = ReadEntry(r, $"records.{i + 1}.member.");
            total += entries[i].Data.Length + Encoding.UTF8.GetByteCount(entries[i].Key);
            i++;
        }

        if (total > MaxPutRecordsBytes) throw KinesisErrors.InvalidArgument($"Records size exceeds 5 MB limit");
        var stream = Resolve(ctx, req);
        var account = ctx.Engine.Options.AccountId;
        var enforce = ctx.Engine.Kinesis.Options.EnforceShardLimits;
        var now = ctx.Engine.Time.GetUtcNow().ToUnixTimeMilliseconds();
        var failed = 0;
        w.WriteStartObject();
        var results = new (string? Shard, string? Sequence, string? Error)[count];
        for (i = 0; i < count; i++)
        {
            var (key, data, hash) = entries[i];
            var shard = stream.ShardFor(hash);
            if (enforce && !shard.TryAdmitWrite(now, 1, data.Length + Encoding.UTF8.GetByteCount(key)))
            {
                results[i] = (null, null, KinesisErrors.WriteThroughputMessage(shard.Id, stream.Name, account));
                failed++;
                continue;
            }

            var counter = shard.Log.Append(key, data, now);
            results[i] = (shard.Id, SequenceNumbers.Format(stream.Definition.CreatedMs, shard.Index, counter), null);
        }

        w.WriteNumber("FailedRecordCount"u8, failed);
        w.WriteStartArray("Records"u8);
        foreach (var (shardId, sequence, error) in results)
        {
            w.WriteStartObject();
            if (error != null)
            {
                w.WriteString("ErrorCode"u8, "ProvisionedThroughputExceededException");
                w.WriteString("ErrorMessage"u8, error);
            }
            else
            {
                w.WriteString("SequenceNumber"u8, sequence);
                w.WriteString("ShardId"u8, shardId);
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
        return ValueTask.CompletedTask;
    }

    public static ValueTask GetShardIteratorAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var shardId = Req.String(req, "ShardId") ?? throw KinesisErrors.Constraint(null, "shardId", "Member must not be null");
        var type = Req.String(req, "ShardIteratorType") ?? throw KinesisErrors.Constraint(null, "shardIteratorType", "Member must not be null");
        if (type is not ("AT_SEQUENCE_NUMBER" or "AFTER_SEQUENCE_NUMBER" or "TRIM_HORIZON" or "LATEST" or "AT_TIMESTAMP"))
            throw KinesisErrors.Constraint(type, "shardIteratorType", "Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_TIMESTAMP, AT_SEQUENCE_NUMBER, TRIM_HORIZON]");
        var sequence = Req.String(req, "StartingSequenceNumber");
        if (sequence != null && !SequenceNumbers.IsWellFormed(sequence))
            throw KinesisErrors.Constraint(sequence, "startingSequenceNumber", "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,128})");
        var timestamp = Req.Double(req, "Timestamp");
        var stream = Resolve(ctx, req);
        var account = ctx.Engine.Options.AccountId;
        if (!SequenceNumbers.TryParseShardId(shardId, out var index) || index >= stream.Shards.Length)
            throw KinesisErrors.ShardNotFound(index >= 0 ? SequenceNumbers.ShardId(index) : shardId, stream.Name, account);
        var shard = stream.Shards[index];
        var log = shard.Log;
        ulong counter;
        switch (type)
        {
            case "TRIM_HORIZON" or "LATEST":
                if (sequence != null) throw KinesisErrors.IteratorTypeMismatch(type, withSequence: true);
                counter = type == "TRIM_HORIZON" ? log.FirstRetained : log.LastCounter + 1;
                break;
            case "AT_TIMESTAMP":
                if (timestamp is not { } ts) throw KinesisErrors.TimestampRequired();
                counter = log.FindByTime((long)Math.Round(ts * 1000));
                break;
            default:
                if (sequence == null) throw KinesisErrors.IteratorTypeMismatch(type, withSequence: false);
                if (!SequenceNumbers.TryParse(sequence, out var created, out var encodedShard, out var place))
                    throw KinesisErrors.InvalidSequenceNumber(sequence, shard.Id, stream.Name, account);
                if (encodedShard != index) throw KinesisErrors.SequenceOfOtherShard(SequenceNumbers.ShardId(encodedShard), shard.Id);
                if (created != stream.Definition.CreatedMs) throw KinesisErrors.SequenceOfOtherStream(sequence, shard.Id, stream.Name, account);
                counter = type == "AT_SEQUENCE_NUMBER" ? Math.Max(place, 1) : place + 1;
                break;
        }

        var iterator = new ShardIterator(stream.Name, stream.Definition.CreatedMs, index, counter, default, ctx.Engine.Time.GetUtcNow().ToUnixTimeMilliseconds());
        w.WriteStartObject();
        w.WriteString("ShardIterator"u8, iterator.Encode());
        w.WriteEndObject();
        return ValueTask.CompletedTask;
    }

    public static ValueTask GetRecordsAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var text = Req.String(req, "ShardIterator") ?? throw KinesisErrors.Constraint(null, "shardIterator", "Member must not be null");
        if (text.Length is < 1 or > 512) throw KinesisErrors.Constraint(text, "shardIterator", text.Length < 1 ? "Member must have length greater than or equal to 1" : "Member must have length less than or equal to 512");
        var limit = (int)(Req.Long(req, "Limit", "Integer") ?? MaxGetRecords);
        if (limit is < 1 or > MaxGetRecords) throw KinesisErrors.Constraint(limit.ToString(CultureInfo.InvariantCulture), "limit", limit < 1 ? "Member must have value greater than or equal to 1" : "Member must have value less than or equal to 10000");
        if (!ShardIterator.TryDecode(text, out var iterator)) throw KinesisErrors.InvalidIterator();
        var now = ctx.Engine.Time.GetUtcNow();
        var nowMs = now.ToUnixTimeMilliseconds();
        if (nowMs - iterator.IssuedMs > ShardIterator.LifetimeMilliseconds)
            throw KinesisErrors.ExpiredIterator(DateTimeOffset.FromUnixTimeMilliseconds(iterator.IssuedMs), now, ShardIterator.LifetimeMilliseconds);
        var account = ctx.Engine.Options.AccountId;
        var stream = ctx.Engine.Kinesis.Find(iterator.StreamName);
        if (stream is null || stream.Deleted || stream.Definition.CreatedMs != iterator.StreamCreatedMs) throw KinesisErrors.StreamNotFound(iterator.StreamName, account);
        if (iterator.ShardIndex < 0 || iterator.ShardIndex >= stream.Shards.Length) throw KinesisErrors.InvalidIterator();
        var shard = stream.Shards[iterator.ShardIndex];
        var enforce = ctx.Engine.Kinesis.Options.EnforceShardLimits;
        if (enforce && !shard.TryAdmitRead(nowMs)) throw KinesisErrors.ReadThroughputExceeded(shard.Id, stream.Name, account);

        var records = new List<KinesisRecord>(Math.Min(limit, 256));
        var hint = iterator.Hint;
        var next = shard.Log.Read(iterator.Counter, ref hint, limit, MaxGetRecordsBytes, records);
        long bytes = 0;
        w.WriteStartObject();
        w.WriteStartArray("Records"u8);
        foreach (var r in records)
        {
            w.WriteStartObject();
            w.WriteString("SequenceNumber"u8, SequenceNumbers.Format(stream.Definition.CreatedMs, shard.Index, r.Counter));
            w.WriteNumber("ApproximateArrivalTimestamp"u8, r.ArrivalMs / 1000.0);
            w.WriteBase64String("Data"u8, r.Data);
            w.WriteString("PartitionKey"u8, r.PartitionKey);
            w.WriteEndObject();
            bytes += r.Data.Length;
        }

        w.WriteEndArray();
        if (enforce) shard.CountRead(nowMs, bytes);
        w.WriteString("NextShardIterator"u8, (iterator with { Counter = next, Hint = hint, IssuedMs = nowMs }).Encode());
        var behind = next <= shard.Log.LastCounter && records.Count > 0 ? Math.Max(0, nowMs - records[^1].ArrivalMs) : 0;
        w.WriteNumber("MillisBehindLatest"u8, behind);
        w.WriteEndObject();
        return ValueTask.CompletedTask;
    }

    /// <summary>One record of PutRecord or PutRecords: its partition key, data and the hash key that picks its shard.</summary>
    private static (string Key, byte[] Data, UInt128 Hash) ReadEntry(JsonElement entry, string prefix)
    {
        var key = Req.String(entry, "PartitionKey") ?? throw KinesisErrors.Constraint(null, prefix + "partitionKey", "Member must not be null");
        if (key.Length is < 1 or > 256)
            throw KinesisErrors.Constraint(key, prefix + "partitionKey", key.Length < 1 ? "Member must have length greater than or equal to 1" : "Member must have length less than or equal to 256");
        var text = Req.String(entry, "Data") ?? throw KinesisErrors.Constraint(null, prefix + "data", "Member must not be null");
        byte[] data;
        try
        {
            data = Convert.FromBase64String(text);
        }
        catch (FormatException)
        {
            throw KinesisErrors.Serialization("");
        }

        if (data.Length > MaxDataBytes) throw KinesisErrors.Constraint("java.nio.HeapByteBuffer[pos=0 lim=" + data.Length + " cap=" + data.Length + "]", prefix + "data", "Member must have length less than or equal to 1048576");
        UInt128 hash;
        if (Req.String(entry, "ExplicitHashKey") is { } explicitKey)
        {
            if (explicitKey.Length == 0 || !BigInteger.TryParse(explicitKey, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value > MaxHashKey)
                throw KinesisErrors.ExplicitHashKeyOutOfRange(explicitKey);
            hash = (UInt128)value;
        }
        else
        {
            hash = KinesisStream.HashKeyOf(key);
        }

        return (key, data, hash);
    }
}
