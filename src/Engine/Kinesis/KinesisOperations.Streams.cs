using System.Globalization;
using System.Text;
using System.Text.Json;
using Serverless.Engine.Operations;

namespace Serverless.Engine.Kinesis;

/// <summary>
/// The Kinesis Data Streams operations, one method each, grouped by family: stream management here, records in
/// <c>KinesisOperations.Records.cs</c>. Every stream operation names its stream by StreamName or StreamARN.
/// </summary>
internal static partial class KinesisOperations
{
    private const int MaxTagsPerStream = 50;

    public static ValueTask CreateStreamAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var name = Req.String(req, "StreamName");
        ValidateStreamName(name, "streamName");
        var shardCount = Req.Long(req, "ShardCount", "Integer");
        var mode = "PROVISIONED";
        if (Req.Object(req, "StreamModeDetails") is { } details)
        {
            mode = Req.String(details, "StreamMode") ?? throw KinesisErrors.Constraint(null, "streamModeDetails.streamMode", "Member must not be null");
            if (mode is not ("PROVISIONED" or "ON_DEMAND"))
                throw KinesisErrors.Constraint(mode, "streamModeDetails.streamMode", "Member must satisfy enum value set: [ON_DEMAND, PROVISIONED]");
        }

        if (shardCount is < 1) throw KinesisErrors.Constraint(shardCount.ToString(), "shardCount", "Member must have value greater than or equal to 1");
        if (shardCount is > 1_000_000) throw KinesisErrors.Constraint(shardCount.ToString(), "shardCount", "Member must have value less than or equal to 1000000");
        var store = ctx.Engine.Kinesis;
        int count;
        if (mode == "ON_DEMAND")
        {
            if (shardCount != null) throw KinesisErrors.InvalidArgument("ShardCount is not supported for streams in ON_DEMAND mode.");
            count = store.Options.OnDemandShardCount;
        }
        else
        {
            count = (int)(shardCount ?? throw KinesisErrors.InvalidArgument("ShardCount is required for streams in PROVISIONED mode."));
        }

        var tags = ReadTags(req, name!);
        var account = ctx.Engine.Options.AccountId;
        var open = store.OpenShardCount();
        if (open + count > store.Options.ShardLimit) throw KinesisErrors.ShardLimit(account, ctx.Region, open, store.Options.ShardLimit, count);
        var definition = new KinesisStreamDefinition
        {
            Name = name!,
            Region = ctx.Region,
            AccountId = account,
            CreatedMs = ctx.Engine.Time.GetUtcNow().ToUnixTimeMilliseconds(),
            Mode = mode,
            Shards = ShardDefinition.Split(count),
            Tags = tags ?? new Dictionary<string, string>(StringComparer.Ordinal),
        };
        if (!store.TryCreate(definition, out _)) throw KinesisErrors.StreamExists(name!, account);
        w.WriteStartObject();
        w.WriteEndObject();
        return ValueTask.CompletedTask;
    }

    public static ValueTask DeleteStreamAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var stream = Resolve(ctx, req);
        ctx.Engine.Kinesis.Delete(stream.Name);
        w.WriteStartObject();
        w.WriteEndObject();
        return ValueTask.CompletedTask;
    }

    public static ValueTask DescribeStreamAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var stream = Resolve(ctx, req);
        var limit = (int)(Req.Long(req, "Limit", "Integer") ?? 100);
        if (limit is < 1 or > 10000) throw KinesisErrors.Constraint(limit.ToString(), "limit", limit < 1 ? "Member must have value greater than or equal to 1" : "Member must have value less than or equal to 10000");
        var after = -1;
        if (Req.String(req, "ExclusiveStartShardId") is { } start && !SequenceNumbers.TryParseShardId(start, out after)) after = int.MaxValue;
        var d = stream.Definition;
        var cutoff = RetentionCutoff(ctx, stream);
        w.WriteStartObject();
        w.WriteStartObject("StreamDescription"u8);
        WriteIdentity(w, stream);
        w.WriteStartArray("Shards"u8);
        var written = 0;
        var more = false;
        foreach (var shard in stream.Shards)
        {
            if (shard.Index <= after || shard.IsExpired(cutoff)) continue;
            if (written == limit)
            {
                more = true;
                break;
            }

            WriteShard(w, stream, shard);
            written++;
        }

        w.WriteEndArray();
        w.WriteBoolean("HasMoreShards"u8, more);
        w.WriteNumber("RetentionPeriodHours"u8, d.RetentionHours);
        w.WriteNumber("StreamCreationTimestamp"u8, d.CreatedMs / 1000.0);
        WriteMonitoringAndEncryption(w);
        w.WriteEndObject();
        w.WriteEndObject();
        return ValueTask.CompletedTask;
    }

    public static ValueTask DescribeStreamSummaryAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var stream = Resolve(ctx, req);
        var d = stream.Definition;
        w.WriteStartObject();
        w.WriteStartObject("StreamDescriptionSummary"u8);
        WriteIdentity(w, stream);
        w.WriteNumber("RetentionPeriodHours"u8, d.RetentionHours);
        w.WriteNumber("StreamCreationTimestamp"u8, d.CreatedMs / 1000.0);
        WriteMonitoringAndEncryption(w);
        w.WriteNumber("OpenShardCount"u8, stream.OpenShards.Length);
        w.WriteNumber("ConsumerCount"u8, 0);
        w.WriteEndObject();
        w.WriteEndObject();
        return ValueTask.CompletedTask;
    }

    public static ValueTask ListStreamsAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var limit = (int)(Req.Long(req, "Limit", "Integer") ?? 100);
        if (limit is < 1 or > 10000) throw KinesisErrors.Constraint(limit.ToString(), "limit", limit < 1 ? "Member must have value greater than or equal to 1" : "Member must have value less than or equal to 10000");
        var after = Req.String(req, "ExclusiveStartStreamName");
        if (Req.String(req, "NextToken") is { } token) after = DecodeToken(token);
        var streams = ctx.Engine.Kinesis.List();
        w.WriteStartObject();
        var page = new List<KinesisStream>(Math.Min(limit, streams.Count));
        var more = false;
        foreach (var s in streams)
        {
            if (after != null && string.CompareOrdinal(s.Name, after) <= 0) continue;
            if (page.Count == limit)
            {
                more = true;
                break;
            }

            page.Add(s);
        }

        w.WriteStartArray("StreamNames"u8);
        foreach (var s in page) w.WriteStringValue(s.Name);
        w.WriteEndArray();
        w.WriteBoolean("HasMoreStreams"u8, more);
        if (more) w.WriteString("NextToken"u8, EncodeToken(page[^1].Name));
        w.WriteStartArray("StreamSummaries"u8);
        foreach (var s in page)
        {
            w.WriteStartObject();
            WriteIdentity(w, s);
            w.WriteNumber("StreamCreationTimestamp"u8, s.Definition.CreatedMs / 1000.0);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
        return ValueTask.CompletedTask;
    }

    public static ValueTask ListShardsAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var max = (int)(Req.Long(req, "MaxResults", "Integer") ?? 1000);
        if (max is < 1 or > 10000) throw KinesisErrors.Constraint(max.ToString(), "maxResults", max < 1 ? "Member must have value greater than or equal to 1" : "Member must have value less than or equal to 10000");
        KinesisStream stream;
        var after = -1;
        ShardFilter filter;
        if (Req.String(req, "NextToken") is { } token)
        {
            if (Req.Has(req, "StreamName")) throw KinesisErrors.NextTokenAndStreamName();
            // name|last index|filter type|filter shard index|filter timestamp ms: the filter holds across pages
            var parts = DecodeToken(token).Split('|');
            if (parts.Length != 5 || !int.TryParse(parts[1], out after) || !int.TryParse(parts[3], out var filterShard) || !long.TryParse(parts[4], out var filterMs))
                throw KinesisErrors.InvalidNextToken();
            stream = ctx.Engine.Kinesis.Find(parts[0]) ?? throw KinesisErrors.StreamNotFound(parts[0], ctx.Engine.Options.AccountId);
            filter = new ShardFilter(parts[2], filterShard, filterMs);
        }
        else
        {
            stream = Resolve(ctx, req);
            if (Req.String(req, "ExclusiveStartShardId") is { } start && !SequenceNumbers.TryParseShardId(start, out after)) after = int.MaxValue;
            filter = ReadShardFilter(req);
        }

        var cutoff = RetentionCutoff(ctx, stream);
        var horizon = Math.Max(cutoff, stream.Definition.CreatedMs);
        w.WriteStartObject();
        w.WriteStartArray("Shards"u8);
        var written = 0;
        var last = -1;
        var more = false;
        foreach (var shard in stream.Shards)
        {
            if (shard.Index <= after || shard.IsExpired(cutoff) || !filter.Includes(shard, stream.Definition.CreatedMs, horizon)) continue;
            if (written == max)
            {
                more = true;
                break;
            }

            WriteShard(w, stream, shard);
            last = shard.Index;
            written++;
        }

        w.WriteEndArray();
        if (more) w.WriteString("NextToken"u8, EncodeToken(string.Create(CultureInfo.InvariantCulture, $"{stream.Name}|{last}|{filter.Type}|{filter.ShardIndex}|{filter.TimestampMs}")));
        w.WriteEndObject();
        return ValueTask.CompletedTask;
    }

    /// <summary>ListShards' ShardFilter: which shards a listing includes, by their open and closed times.</summary>
    private readonly record struct ShardFilter(string Type, int ShardIndex, long TimestampMs)
    {
        public bool Includes(Shard shard, long streamCreatedMs, long horizonMs)
        {
            var created = shard.Definition.CreatedMs ?? streamCreatedMs;
            var closed = shard.Definition.ClosedMs;
            return Type switch
            {
                "AFTER_SHARD_ID" => shard.Index > ShardIndex,
                "AT_TRIM_HORIZON" => created <= horizonMs && (closed == null || closed >= horizonMs),
                "AT_LATEST" => closed == null,
                "AT_TIMESTAMP" => created <= TimestampMs && (closed == null || closed >= TimestampMs),
                "FROM_TIMESTAMP" => closed == null || closed >= Math.Max(TimestampMs, horizonMs),
                _ => true, // FROM_TRIM_HORIZON, the default: every shard within the retention period
            };
        }
    }

    private static ShardFilter ReadShardFilter(JsonElement req)
    {
        if (Req.Object(req, "ShardFilter") is not { } f) return new ShardFilter("FROM_TRIM_HORIZON", -1, 0);
        var type = Req.String(f, "Type") ?? throw KinesisErrors.Constraint(null, "shardFilter.type", "Member must not be null");
        if (type is not ("AFTER_SHARD_ID" or "AT_TRIM_HORIZON" or "FROM_TRIM_HORIZON" or "AT_LATEST" or "AT_TIMESTAMP" or "FROM_TIMESTAMP"))
            throw KinesisErrors.Constraint(type, "shardFilter.type", "Member must satisfy enum value set: [AFTER_SHARD_ID, AT_TRIM_HORIZON, FROM_TRIM_HORIZON, AT_LATEST, AT_TIMESTAMP, FROM_TIMESTAMP]");
        var index = -1;
        if (type == "AFTER_SHARD_ID")
        {
            var id = Req.String(f, "ShardId") ?? throw KinesisErrors.ShardFilterShardIdRequired();
            if (!SequenceNumbers.TryParseShardId(id, out index)) index = int.MaxValue;
        }

        long ms = 0;
        if (type is "AT_TIMESTAMP" or "FROM_TIMESTAMP")
            ms = (long)Math.Round((Req.Double(f, "Timestamp") ?? throw KinesisErrors.ShardFilterTimestampRequired(type)) * 1000);
        return new ShardFilter(type, index, ms);
    }

    /// <summary>The retention horizon of a stream now (ms since the epoch): records and closed shards before it are gone.</summary>
    private static long RetentionCutoff(OperationContext ctx, KinesisStream stream) =>
        ctx.Engine.Time.GetUtcNow().ToUnixTimeMilliseconds() - stream.Definition.RetentionHours * 3_600_000L;

    public static ValueTask IncreaseStreamRetentionPeriodAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w) => ChangeRetention(ctx, req, w, increase: true);

    public static ValueTask DecreaseStreamRetentionPeriodAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w) => ChangeRetention(ctx, req, w, increase: false);

    private static ValueTask ChangeRetention(OperationContext ctx, JsonElement req, Utf8JsonWriter w, bool increase)
    {
        var hours = Req.Long(req, "RetentionPeriodHours", "Integer") ?? throw KinesisErrors.Constraint(null, "retentionPeriodHours", "Member must not be null");
        if (hours < 1) throw KinesisErrors.Constraint(hours.ToString(), "retentionPeriodHours", "Member must have value greater than or equal to 1");
        if (hours > 8760 * 10) throw KinesisErrors.Constraint(hours.ToString(), "retentionPeriodHours", "Member must have value less than or equal to 87600");
        var stream = Resolve(ctx, req);
        var h = (int)hours;
        if (h < 24) throw KinesisErrors.RetentionTooShort(h);
        if (h > 8760) throw KinesisErrors.RetentionTooLong(h);
        ctx.Engine.Kinesis.Update(stream, d =>
        {
            if (increase && h < d.RetentionHours) throw KinesisErrors.RetentionNotLonger(h, d.Name, d.RetentionHours);
            if (!increase && h > d.RetentionHours) throw KinesisErrors.RetentionNotShorter(h, d.Name, d.RetentionHours);
            d.RetentionHours = h;
        });
        w.WriteStartObject();
        w.WriteEndObject();
        return ValueTask.CompletedTask;
    }

    public static ValueTask AddTagsToStreamAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var stream = Resolve(ctx, req);
        var tags = ReadTags(req, stream.Name) ?? throw KinesisErrors.Constraint(null, "tags", "Member must not be null");
        ctx.Engine.Kinesis.Update(stream, d =>
        {
            var merged = new Dictionary<string, string>(d.Tags, StringComparer.Ordinal);
            foreach (var (k, v) in tags) merged[k] = v;
            if (merged.Count > MaxTagsPerStream) throw KinesisErrors.TooManyTags(d.Name);
            d.Tags = merged;
        });
        w.WriteStartObject();
        w.WriteEndObject();
        return ValueTask.CompletedTask;
    }

    public static ValueTask RemoveTagsFromStreamAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var stream = Resolve(ctx, req);
        var keys = Req.StringList(req, "TagKeys") ?? throw KinesisErrors.Constraint(null, "tagKeys", "Member must not be null");
        ctx.Engine.Kinesis.Update(stream, d =>
        {
            var remaining = new Dictionary<string, string>(d.Tags, StringComparer.Ordinal);
            foreach (var k in keys) remaining.Remove(k);
            d.Tags = remaining;
        });
        w.WriteStartObject();
        w.WriteEndObject();
        return ValueTask.CompletedTask;
    }

    public static ValueTask ListTagsForStreamAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var stream = Resolve(ctx, req);
        var limit = (int)(Req.Long(req, "Limit", "Integer") ?? 50);
        if (limit is < 1 or > 50) throw KinesisErrors.Constraint(limit.ToString(), "limit", limit < 1 ? "Member must have value greater than or equal to 1" : "Member must have value less than or equal to 50");
        var after = Req.String(req, "ExclusiveStartTagKey");
        var keys = new List<string>(stream.Definition.Tags.Keys);
        keys.Sort(StringComparer.Ordinal);
        w.WriteStartObject();
        w.WriteStartArray("Tags"u8);
        var written = 0;
        var more = false;
        foreach (var k in keys)
        {
            if (after != null && string.CompareOrdinal(k, after) <= 0) continue;
            if (written == limit)
            {
                more = true;
                break;
            }

            w.WriteStartObject();
            w.WriteString("Key"u8, k);
            w.WriteString("Value"u8, stream.Definition.Tags[k]);
            w.WriteEndObject();
            written++;
        }

        w.WriteEndArray();
        w.WriteBoolean("HasMoreTags"u8, more);
        w.WriteEndObject();
        return ValueTask.CompletedTask;
    }

    public static ValueTask DescribeLimitsAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var store = ctx.Engine.Kinesis;
        var onDemand = 0;
        foreach (var s in store.List())
            if (s.Definition.Mode == "ON_DEMAND") onDemand++;
        w.WriteStartObject();
        w.WriteNumber("ShardLimit"u8, store.Options.ShardLimit);
        w.WriteNumber("OpenShardCount"u8, store.OpenShardCount());
        w.WriteNumber("OnDemandStreamCount"u8, onDemand);
        w.WriteNumber("OnDemandStreamCountLimit"u8, 50);
        w.WriteEndObject();
        return ValueTask.CompletedTask;
    }

    /// <summary>The stream a request names by StreamName or StreamARN (newer SDKs send the ARN), or ResourceNotFound.</summary>
    internal static KinesisStream Resolve(OperationContext ctx, JsonElement req)
    {
        var name = Req.String(req, "StreamName");
        var arn = Req.String(req, "StreamARN");
        if (name != null) ValidateStreamName(name, "streamName");
        if (arn != null)
        {
            var fromArn = NameFromArn(arn) ?? throw KinesisErrors.Constraint(arn, "streamARN", "Member must satisfy regular expression pattern: arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+");
            if (name != null && name != fromArn) throw KinesisErrors.StreamNameArnMismatch();
            name = fromArn;
        }

        if (name == null) throw KinesisErrors.Validation("Either StreamName or StreamARN must be provided.");
        return ctx.Engine.Kinesis.Find(name) is { Deleted: false } stream ? stream : throw KinesisErrors.StreamNotFound(name, ctx.Engine.Options.AccountId);
    }

    /// <summary>The stream name in <c>arn:aws:kinesis:{region}:{account}:stream/{name}</c>, or null when it is not such an ARN.</summary>
    public static string? NameFromArn(string arn)
    {
        if (!arn.StartsWith("arn:aws", StringComparison.Ordinal)) return null;
        var parts = arn.Split(':', 6);
        if (parts.Length != 6 || parts[2] != "kinesis" || parts[4].Length != 12 || !parts[5].StartsWith("stream/", StringComparison.Ordinal)) return null;
        var name = parts[5]["stream/".Length..];
        var slash = name.IndexOf('/');
        if (slash >= 0) name = name[..slash]; // a consumer ARN names its stream first
        return IsValidStreamName(name) ? name : null;
    }

    private static void ValidateStreamName(string? name, string member)
    {
        if (name == null) throw KinesisErrors.Constraint(null, member, "Member must not be null");
        if (name.Length is < 1 or > 128) throw KinesisErrors.Constraint(name, member, name.Length < 1 ? "Member must have length greater than or equal to 1" : "Member must have length less than or equal to 128");
        if (!IsValidStreamName(name)) throw KinesisErrors.Constraint(name, member, "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+");
    }

    private static bool IsValidStreamName(string name)
    {
        if (name.Length is < 1 or > 128) return false;
        foreach (var c in name)
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-')) return false;
        return true;
    }

    private static Dictionary<string, string>? ReadTags(JsonElement req, string stream)
    {
        if (Req.Map(req, "Tags") is not { } map) return null;
        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in map.EnumerateObject())
        {
            if (p.Name.Length is < 1 or > 128) throw KinesisErrors.InvalidArgument($"Failed to add tags to stream {stream}: tag keys must be 1 to 128 characters long.");
            var value = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : throw KinesisErrors.Serialization("");
            if (value.Length > 256) throw KinesisErrors.InvalidArgument($"Failed to add tags to stream {stream}: tag values must be at most 256 characters long.");
            tags[p.Name] = value;
        }

        if (tags.Count > MaxTagsPerStream) throw KinesisErrors.TooManyTags(stream);
        return tags;
    }

    private static void WriteIdentity(Utf8JsonWriter w, KinesisStream stream)
    {
        w.WriteString("StreamName"u8, stream.Name);
        w.WriteString("StreamARN"u8, stream.Definition.Arn);
        w.WriteString("StreamStatus"u8, "ACTIVE");
        w.WriteStartObject("StreamModeDetails"u8);
        w.WriteString("StreamMode"u8, stream.Definition.Mode);
        w.WriteEndObject();
    }

    private static void WriteMonitoringAndEncryption(Utf8JsonWriter w)
    {
        w.WriteStartArray("EnhancedMonitoring"u8);
        w.WriteStartObject();
        w.WriteStartArray("ShardLevelMetrics"u8);
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteString("EncryptionType"u8, "NONE");
    }

    private static void WriteShard(Utf8JsonWriter w, KinesisStream stream, Shard shard)
    {
        w.WriteStartObject();
        w.WriteString("ShardId"u8, shard.Id);
        if (shard.Definition.ParentIndex is { } parent) w.WriteString("ParentShardId"u8, SequenceNumbers.ShardId(parent));
        if (shard.Definition.AdjacentParentIndex is { } adjacent) w.WriteString("AdjacentParentShardId"u8, SequenceNumbers.ShardId(adjacent));
        w.WriteStartObject("HashKeyRange"u8);
        w.WriteString("StartingHashKey"u8, shard.Definition.StartingHashKey);
        w.WriteString("EndingHashKey"u8, shard.Definition.EndingHashKey);
        w.WriteEndObject();
        w.WriteStartObject("SequenceNumberRange"u8);
        w.WriteString("StartingSequenceNumber"u8, SequenceNumbers.Format(stream.Definition.CreatedMs, shard.Index, 0));
        if (shard.IsClosed) w.WriteString("EndingSequenceNumber"u8, SequenceNumbers.Format(stream.Definition.CreatedMs, shard.Index, shard.Log.LastCounter));
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static string EncodeToken(string value) => Convert.ToBase64String(Encoding.UTF8.GetBytes("kds1|" + value));

    private static string DecodeToken(string token)
    {
        try
        {
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(token));
            return text.StartsWith("kds1|", StringComparison.Ordinal) ? text[5..] : throw KinesisErrors.InvalidNextToken();
        }
        catch (FormatException)
        {
            throw KinesisErrors.InvalidNextToken();
        }
    }
}
