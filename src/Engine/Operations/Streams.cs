using System.Globalization;
using System.Text;
using System.Text.Json;
using Serverless.Engine.Model;
using Serverless.Engine.Protocol;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Operations;

/// <summary>
/// A stream's shards. The change log is split into segment files; a shard of a stream is the part of one segment
/// that lies inside the stream's lifetime, so a shard closes when its segment does (shard roll-over) and the next
/// segment's shard is its child. Sequence numbers are change-log sequence numbers.
/// </summary>
internal sealed record StreamShard(string ShardId, string? ParentShardId, ulong Segment, string SegmentPath, ulong Start, ulong EndExclusive)
{
    public bool Closed => EndExclusive != 0;

    /// <summary>
    /// A record's sequence number: its change-log sequence number (20 digits) followed by its place within that log
    /// record (4 digits; a transaction's items share one log record), so numbers sort as the records do.
    /// </summary>
    public static string SequenceNumber(ulong lsn, int item = 0) =>
        lsn.ToString("D20", CultureInfo.InvariantCulture) + item.ToString("D4", CultureInfo.InvariantCulture);

    public static bool TryParseSequenceNumber(string text, out ulong lsn, out int item)
    {
        lsn = 0;
        item = 0;
        return text.Length is > 4 and <= 24
            && ulong.TryParse(text.AsSpan(0, text.Length - 4), NumberStyles.None, CultureInfo.InvariantCulture, out lsn)
            && int.TryParse(text.AsSpan(text.Length - 4), NumberStyles.None, CultureInfo.InvariantCulture, out item);
    }

    public static List<StreamShard> Of(TableDefinition table, StreamDefinition stream, ChangeLog log)
    {
        var segments = log.Segments;
        var suffix = StableSuffix(table.TableId, stream.Label);
        var result = new List<StreamShard>();
        string? parent = null;
        for (var i = 0; i < segments.Count; i++)
        {
            var (first, path) = segments[i];
            var segmentEnd = i + 1 < segments.Count ? segments[i + 1].FirstLsn : 0;
            if (segmentEnd != 0 && segmentEnd <= stream.StartLsn) continue;
            if (stream.EndLsn != 0 && first >= stream.EndLsn) break;
            var start = Math.Max(first, stream.StartLsn);
            var end = segmentEnd == 0 ? stream.EndLsn : stream.EndLsn == 0 ? segmentEnd : Math.Min(segmentEnd, stream.EndLsn);
            var id = $"shardId-{first:D20}-{suffix}";
            result.Add(new StreamShard(id, parent, first, path, start, end));
            parent = id;
        }

        return result;
    }

    /// <summary>
    /// The shard id's last part: FNV-1a of the table id and the stream label, the same in every process (an id
    /// a client saved stays valid across restarts; <c>string.GetHashCode</c> is randomised per process).
    /// </summary>
    internal static string StableSuffix(string tableId, string label)
    {
        var hash = 2166136261u;
        foreach (var c in tableId) hash = (hash ^ c) * 16777619u;
        hash = (hash ^ '|') * 16777619u;
        foreach (var c in label) hash = (hash ^ c) * 16777619u;
        return hash.ToString("x8", CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Whether <paramref name="id"/> names this shard. The stream is already fixed by its ARN and the segment by the
    /// id's digits, so an id whose suffix came from an older version (a per-process hash) still finds its shard.
    /// </summary>
    public bool IsNamedBy(string? id) =>
        id != null && (id == ShardId || (id.Length == ShardId.Length && id.AsSpan(0, PrefixLength).SequenceEqual(ShardId.AsSpan(0, PrefixLength))));

    private const int PrefixLength = 8 + 20 + 1; // "shardId-", the segment's first sequence number, "-"
}

/// <summary>
/// A shard iterator: where to read next in a shard, with the byte offset of that record as a hint so a reader that
/// follows NextShardIterator never rescans. Opaque to clients (base64); valid for 15 minutes, as on AWS.
/// </summary>
internal readonly record struct ShardIterator(string StreamArn, ulong Segment, ulong Lsn, int Item, long Offset, long IssuedMillis)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(15);

    public string Encode() => Convert.ToBase64String(Encoding.UTF8.GetBytes(
        string.Create(CultureInfo.InvariantCulture, $"2|{Segment}|{Lsn}|{Item}|{Offset}|{IssuedMillis}|{StreamArn}")));

    public static ShardIterator? Decode(string text)
    {
        try
        {
            var parts = Encoding.UTF8.GetString(Convert.FromBase64String(text)).Split('|', 7);
            if (parts.Length != 7 || parts[0] != "2") return null;
            var c = CultureInfo.InvariantCulture;
            return new ShardIterator(parts[6], ulong.Parse(parts[1], c), ulong.Parse(parts[2], c), int.Parse(parts[3], c), long.Parse(parts[4], c), long.Parse(parts[5], c));
        }
        catch (FormatException)
        {
            return null;
        }
        catch (OverflowException)
        {
            return null;
        }
    }
}

/// <summary>The DynamoDB Streams API (target prefix <c>DynamoDBStreams_20120810</c>): it reads the change log.</summary>
internal static class Streams
{
    private const int MaxRecords = 1000;
    private const long MaxResponseBytes = 1024 * 1024;

    public static string Arn(TableDefinition table, StreamDefinition stream) => $"{table.Arn}/stream/{stream.Label}";

    public static ValueTask ListStreamsAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var tableName = Req.String(req, "TableName");
        var limit = Req.Long(req, "Limit", "Integer");
        var startArn = Req.String(req, "ExclusiveStartStreamArn");
        var errors = new ConstraintErrors();
        if (tableName != null) errors.Name("tableName", tableName);
        errors.Range("limit", limit, 1, 100);
        errors.ThrowIfAny();

        var all = new List<(string Arn, string Table, string Label)>();
        foreach (var table in ctx.Engine.Database.Tables.OrderBy(t => t.Definition.Name, StringComparer.Ordinal))
        {
            var d = table.Definition;
            if (tableName != null && d.Name != tableName) continue;
            foreach (var s in d.Streams ?? []) all.Add((Arn(d, s), d.Name, s.Label));
        }

        if (tableName != null && ctx.Engine.Database.FindTable(tableName) == null)
            throw DynamoErrors.ResourceNotFound($"Requested resource not found: Table: {tableName} not found");
        var from = startArn == null ? 0 : all.FindIndex(s => s.Arn == startArn) + 1;
        var max = (int)(limit ?? 100);
        var page = all.Skip(from).Take(max).ToList();
        w.WriteStartObject();
        w.WriteStartArray("Streams"u8);
        foreach (var s in page)
        {
            w.WriteStartObject();
            w.WriteString("StreamArn"u8, s.Arn);
            w.WriteString("TableName"u8, s.Table);
            w.WriteString("StreamLabel"u8, s.Label);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        if (from + page.Count < all.Count) w.WriteString("LastEvaluatedStreamArn"u8, page[^1].Arn);
        w.WriteEndObject();
        return ValueTask.CompletedTask;
    }

    public static ValueTask DescribeStreamAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var arn = Req.String(req, "StreamArn");
        var limit = Req.Long(req, "Limit", "Integer");
        var startShard = Req.String(req, "ExclusiveStartShardId");
        var errors = new ConstraintErrors();
        errors.NotNull("streamArn", arn);
        errors.Range("limit", limit, 1, 100);
        errors.ThrowIfAny();
        var (table, stream, log) = Find(ctx, arn!);
        var d = table.Definition;
        var shards = StreamShard.Of(d, stream, log);
        var from = startShard == null ? 0 : shards.FindIndex(s => s.IsNamedBy(startShard)) + 1;
        var page = shards.Skip(from).Take((int)(limit ?? 100)).ToList();

        w.WriteStartObject();
        w.WriteStartObject("StreamDescription"u8);
        w.WriteString("StreamArn"u8, arn);
        w.WriteString("StreamLabel"u8, stream.Label);
        w.WriteString("StreamStatus"u8, stream.EndLsn == 0 ? "ENABLED" : "DISABLED");
        w.WriteString("StreamViewType"u8, stream.ViewType);
        w.WriteNumber("CreationRequestDateTime"u8, stream.CreatedAt);
        w.WriteString("TableName"u8, d.Name);
        TableDescriptionWriter.WriteKeySchema(w, d);
        w.WriteStartArray("Shards"u8);
        foreach (var shard in page)
        {
            w.WriteStartObject();
            w.WriteString("ShardId"u8, shard.ShardId);
            if (shard.ParentShardId != null) w.WriteString("ParentShardId"u8, shard.ParentShardId);
            w.WriteStartObject("SequenceNumberRange"u8);
            w.WriteString("StartingSequenceNumber"u8, StreamShard.SequenceNumber(shard.Start));
            if (shard.Closed) w.WriteString("EndingSequenceNumber"u8, StreamShard.SequenceNumber(shard.EndExclusive - 1, 9999));
            w.WriteEndObject();
            w.WriteEndObject();
        }

        w.WriteEndArray();
        if (from + page.Count < shards.Count) w.WriteString("LastEvaluatedShardId"u8, page[^1].ShardId);
        w.WriteEndObject();
        w.WriteEndObject();
        return ValueTask.CompletedTask;
    }

    public static ValueTask GetShardIteratorAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var arn = Req.String(req, "StreamArn");
        var shardId = Req.String(req, "ShardId");
        var type = Req.String(req, "ShardIteratorType");
        var sequence = Req.String(req, "SequenceNumber");
        var errors = new ConstraintErrors();
        errors.NotNull("streamArn", arn);
        errors.NotNull("shardId", shardId);
        errors.NotNull("shardIteratorType", type);
        errors.Enum("shardIteratorType", type, "TRIM_HORIZON, LATEST, AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER", "TRIM_HORIZON", "LATEST", "AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER");
        errors.ThrowIfAny();
        var (table, stream, log) = Find(ctx, arn!);
        var shard = StreamShard.Of(table.Definition, stream, log).Find(s => s.IsNamedBy(shardId))
            ?? throw DynamoErrors.ResourceNotFound($"Requested resource not found: Shard does not exist");

        ulong lsn;
        var item = 0;
        long offset = 0;
        switch (type)
        {
            case "TRIM_HORIZON":
                (lsn, offset) = Horizon(ctx, log, shard);
                break;
            case "LATEST":
                {
                    var tail = log.Tail;
                    if (shard.Closed) lsn = shard.EndExclusive;
                    else if (tail.Segment == shard.Segment)
                    {
                        lsn = Math.Max(tail.Lsn, shard.Start);
                        if (lsn == tail.Lsn) offset = tail.Offset;
                    }
                    else lsn = Math.Max(tail.Lsn, shard.Start);
                    break;
                }

            default:
                {
                    if (sequence == null || !StreamShard.TryParseSequenceNumber(sequence, out var at, out var atItem))
                        throw DynamoErrors.Validation(sequence == null
                            ? $"Must specify a SequenceNumber for ShardIteratorType {type}"
                            : $"Invalid SequenceNumber: {sequence}");
                    if (at < shard.Start || (shard.Closed && at >= shard.EndExclusive))
                        throw DynamoErrors.Validation($"Invalid SequenceNumber {sequence} for shard {shardId}: it is outside the shard's sequence number range");
                    if (IsTrimmed(ctx, log, shard, 0, at))
                        throw DynamoErrors.TrimmedDataAccess("The operation attempted to read past the oldest stream record in a shard.");
                    lsn = at;
                    item = type == "AT_SEQUENCE_NUMBER" ? atItem : atItem + 1;
                    break;
                }
        }

        var iterator = new ShardIterator(arn!, shard.Segment, lsn, item, offset, ctx.Engine.Time.GetUtcNow().ToUnixTimeMilliseconds());
        w.WriteStartObject();
        w.WriteString("ShardIterator"u8, iterator.Encode());
        w.WriteEndObject();
        return ValueTask.CompletedTask;
    }

    public static ValueTask GetRecordsAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var text = Req.String(req, "ShardIterator");
        var limit = Req.Long(req, "Limit", "Integer");
        var errors = new ConstraintErrors();
        errors.NotNull("shardIterator", text);
        errors.Range("limit", limit, 1, MaxRecords);
        errors.ThrowIfAny();
        var iterator = ShardIterator.Decode(text!) ?? throw DynamoErrors.Validation("Invalid ShardIterator");
        var now = ctx.Engine.Time.GetUtcNow();
        var issued = DateTimeOffset.FromUnixTimeMilliseconds(iterator.IssuedMillis);
        if (now - issued > ShardIterator.Lifetime)
            throw DynamoErrors.ExpiredIterator($"Iterator expired. The iterator was created at time {issued:ddd MMM dd HH:mm:ss UTC yyyy} while right now it is {now:ddd MMM dd HH:mm:ss UTC yyyy} which is further in the future than the tolerated delay of 900000 milliseconds.");
        var (table, stream, log) = Find(ctx, iterator.StreamArn);
        var definition = table.Definition;
        var shard = StreamShard.Of(definition, stream, log).Find(s => s.Segment == iterator.Segment);
        if (shard == null || IsTrimmed(ctx, log, shard, iterator.Offset, iterator.Lsn))
            throw DynamoErrors.TrimmedDataAccess("The operation attempted to read past the oldest stream record in a shard.");

        var max = (int)(limit ?? MaxRecords);
        var oldest = OldestMicros(ctx);
        var upTo = shard.Closed ? Math.Min(shard.EndExclusive - 1, log.DurableLsn) : log.DurableLsn;
        var count = 0;
        long bytes = 0;
        var next = iterator.Lsn;
        var nextItem = iterator.Item;
        var region = definition.Region;
        w.WriteStartObject();
        w.WriteStartArray("Records"u8);
        var offset = ChangeLogReader.Read(log.Cipher, shard.SegmentPath, iterator.Offset, upTo, (in ChangeRecord r) =>
        {
            if (r.Lsn < iterator.Lsn) return true;
            var first = r.Lsn == iterator.Lsn ? iterator.Item : 0;
            if (r.Kind == ChangeKind.Transaction)
            {
                // A transaction's item changes are separate stream records, one sequence number each.
                var items = r.EnumerateTransactionItems();
                for (var index = 0; items.MoveNext(); index++)
                {
                    if (index < first) continue;
                    var change = items.Current;
                    if (change.TableNumber != definition.TableNumber || change.TimestampMicros < oldest) continue;
                    if (count >= max || bytes >= MaxResponseBytes)
                    {
                        (next, nextItem) = (r.Lsn, index);
                        return false;
                    }

                    bytes += WriteRecord(w, in change, index, definition, stream.ViewType, region);
                    count++;
                }

                (next, nextItem) = (r.Lsn + 1, 0);
                return true;
            }

            var wanted = r.Kind == ChangeKind.ItemWrite && first == 0 && r.TableNumber == definition.TableNumber && r.TimestampMicros >= oldest
                && (r.HasOldImage || r.HasNewImage); // neither: a replicated tombstone of an absent item, no stream record
            if (wanted && (count >= max || bytes >= MaxResponseBytes)) return false;
            (next, nextItem) = (r.Lsn + 1, 0);
            if (!wanted) return true;
            bytes += WriteRecord(w, in r, 0, definition, stream.ViewType, region);
            count++;
            return true;
        });
        w.WriteEndArray();

        // A closed shard read to its end has no next iterator; an open one always has.
        var drained = shard.Closed && next >= shard.EndExclusive;
        if (!drained)
        {
            var nextIterator = new ShardIterator(iterator.StreamArn, iterator.Segment, next, nextItem, offset, now.ToUnixTimeMilliseconds());
            w.WriteString("NextShardIterator"u8, nextIterator.Encode());
        }

        w.WriteEndObject();
        return ValueTask.CompletedTask;
    }

    /// <summary>Writes one stream record as AWS shapes it; returns its SizeBytes.</summary>
    internal static long WriteRecord(Utf8JsonWriter w, in ChangeRecord r, int item, TableDefinition table, string viewType, string region)
    {
        KeyCodec.DecodeKey(r.Key, out _, out var hash, out var range);
        var keys = new Dictionary<string, AttrValue>(StringComparer.Ordinal) { [table.HashKey.Name] = hash };
        if (table.RangeKey != null && range is not null) keys[table.RangeKey.Name] = range;
        var withNew = r.HasNewImage && viewType is "NEW_IMAGE" or "NEW_AND_OLD_IMAGES";
        var withOld = r.HasOldImage && viewType is "OLD_IMAGE" or "NEW_AND_OLD_IMAGES";
        long size = ItemSize.Of(keys);
        if (withNew) size += StoredValue.ItemSize(r.NewImage);
        if (withOld) size += StoredValue.ItemSize(r.OldImage);

        w.WriteStartObject();
        w.WriteString("awsRegion"u8, region);
        w.WriteStartObject("dynamodb"u8);
        w.WriteNumber("ApproximateCreationDateTime"u8, r.TimestampMicros / 1_000_000);
        w.WritePropertyName("Keys"u8);
        AttrJson.WriteItem(w, keys);
        if (withNew)
        {
            w.WritePropertyName("NewImage"u8);
            ItemCodec.WriteJson(StoredValue.Item(r.NewImage), w);
        }

        if (withOld)
        {
            w.WritePropertyName("OldImage"u8);
            ItemCodec.WriteJson(StoredValue.Item(r.OldImage), w);
        }

        w.WriteString("SequenceNumber"u8, StreamShard.SequenceNumber(r.Lsn, item));
        w.WriteNumber("SizeBytes"u8, size);
        w.WriteString("StreamViewType"u8, viewType);
        w.WriteEndObject();
        w.WriteString("eventID"u8, EventId(table, r.Lsn, item));
        w.WriteString("eventName"u8, !r.HasOldImage ? "INSERT" : !r.HasNewImage ? "REMOVE" : "MODIFY");
        w.WriteString("eventSource"u8, "aws:dynamodb");
        w.WriteString("eventVersion"u8, "1.1");
        if ((r.Flags & ChangeFlags.System) != 0)
        {
            w.WriteStartObject("userIdentity"u8);
            w.WriteString("PrincipalId"u8, "dynamodb.amazonaws.com");
            w.WriteString("Type"u8, "Service");
            w.WriteEndObject();
        }

        w.WriteEndObject();
        return size;
    }

    private static string EventId(TableDefinition table, ulong lsn, int item)
    {
        Span<byte> bytes = stackalloc byte[16];
        Guid.Parse(table.TableId).TryWriteBytes(bytes);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(bytes[8..], System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]) ^ lsn);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes[4..], System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes[4..]) ^ (uint)item);
        return Convert.ToHexStringLower(bytes);
    }

    /// <summary>The oldest untrimmed position of a shard: its first record written within the last 24 hours.</summary>
    private static (ulong Lsn, long Offset) Horizon(OperationContext ctx, ChangeLog log, StreamShard shard)
    {
        var oldest = OldestMicros(ctx);
        var lsn = shard.Start;
        var offset = ChangeLogReader.Read(log.Cipher, shard.SegmentPath, 0, log.DurableLsn, (in ChangeRecord r) =>
        {
            if (r.Lsn < shard.Start || r.TimestampMicros < oldest)
            {
                lsn = Math.Max(lsn, r.Lsn + 1);
                return true;
            }

            return false;
        });
        return (lsn, offset);
    }

    private static long OldestMicros(OperationContext ctx) => (ctx.Engine.Time.GetUtcNow() - Database.StreamRetention).ToUnixTimeMilliseconds() * 1000;

    /// <summary>
    /// True when the record at <paramref name="lsn"/> is no longer readable: its segment is gone or it is older than
    /// 24 hours. <paramref name="offset"/> is where to start looking (at or before the record).
    /// </summary>
    private static bool IsTrimmed(OperationContext ctx, ChangeLog log, StreamShard shard, long offset, ulong lsn)
    {
        if (!File.Exists(shard.SegmentPath)) return true;
        var oldest = OldestMicros(ctx);
        var trimmed = false;
        ChangeLogReader.Read(log.Cipher, shard.SegmentPath, offset, log.DurableLsn, (in ChangeRecord r) =>
        {
            if (r.Lsn < lsn) return true;
            trimmed = r.Lsn == lsn && r.TimestampMicros < oldest;
            return false;
        });
        return trimmed;
    }

    private static (TableState Table, StreamDefinition Stream, ChangeLog Log) Find(OperationContext ctx, string arn)
    {
        var db = ctx.Engine.Database;
        var marker = arn.IndexOf(":table/", StringComparison.Ordinal);
        var streamPart = arn.IndexOf("/stream/", StringComparison.Ordinal);
        if (db.Log is { } log && marker > 0 && streamPart > marker)
        {
            var name = arn[(marker + 7)..streamPart];
            var label = arn[(streamPart + 8)..];
            if (db.FindTable(name) is { } table && table.Definition.Streams?.Find(s => s.Label == label) is { } stream
                && Arn(table.Definition, stream) == arn)
                return (table, stream, log);
        }

        throw DynamoErrors.ResourceNotFound($"Requested resource not found: Stream: {arn} not found");
    }
}
