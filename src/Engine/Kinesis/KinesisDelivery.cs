using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging;
using Serverless.Engine.Model;
using Serverless.Engine.Operations;
using Serverless.Engine.Security.Encryption;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Kinesis;

/// <summary>
/// How far delivery to Kinesis has come: the change-log position of the next change to deliver. Saved in
/// <c>{data}/kinesis/delivery.json</c> (sealed, kind KinesisDeliveryCheckpoint) after each batch has been appended
/// to its streams, so a crash re-delivers at most that batch. A golden test guards the format.
/// </summary>
public sealed record KinesisDeliveryCheckpoint
{
    public const int CurrentFormat = 1;

    public int Format { get; init; } = CurrentFormat;

    /// <summary>Change-log sequence number of the next change.</summary>
    public required ulong Lsn { get; init; }

    /// <summary>Place of the next change within a transaction's log record.</summary>
    public required int Item { get; init; }

    /// <summary>First sequence number of the segment holding it, and a frame boundary at or before it there (read hints).</summary>
    public required ulong Segment { get; init; }

    public required long Offset { get; init; }
}

/// <summary>
/// Streams table changes to their Kinesis destinations, as the <c>KinesisDelivery</c> timer function: reads the
/// change log from its durable checkpoint in log order, renders each change of a table with a destination as AWS's
/// Kinesis record (<c>awsRegion, eventID, eventName, userIdentity, recordFormat, tableName, dynamodb{…}, eventSource</c>),
/// appends it to the stream's shard chosen by the item's partition key, and moves the checkpoint on. At least once
/// (a crash between append and checkpoint re-delivers), in order per item (one item's changes keep log order and go to
/// one shard). A throttled shard stops the pass at that change; the next pass resumes there. It also moves the
/// destinations' statuses on: ENABLING and UPDATING to ACTIVE, DISABLING to DISABLED once every change before the
/// disable has been delivered. Runs never overlap.
/// </summary>
public sealed class KinesisDelivery
{
    private const int BatchChanges = 1000;
    private readonly DynamoEngine _engine;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<ShardLog, ulong> _appended = [];
    private KinesisDeliveryCheckpoint? _position;

    internal KinesisDelivery(DynamoEngine engine) => _engine = engine;

    private string? CheckpointPath => _engine.Options.InMemory ? null : Path.Combine(Path.GetFullPath(_engine.Options.DataDirectory), "kinesis", "delivery.json");

    /// <summary>
    /// Delivers until caught up, then keeps following the log for <paramref name="tail"/>. Returns how many records
    /// were appended to streams.
    /// </summary>
    public async Task<long> RunAsync(TimeSpan tail, ILogger? logger, CancellationToken cancellationToken)
    {
        if (!await _gate.WaitAsync(0, cancellationToken).ConfigureAwait(false)) return 0;
        try
        {
            var until = Environment.TickCount64 + (long)tail.TotalMilliseconds;
            long delivered = 0;
            while (true)
            {
                var (count, throttled) = await PassAsync(logger).ConfigureAwait(false);
                if (count < 0) return delivered; // no table has a destination: nothing to follow until the next run
                delivered += count;
                if (Environment.TickCount64 >= until) return delivered;
                if (count == 0 || throttled) await Task.Delay(throttled ? 100 : 10, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return 0;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// One pass: status changes, then every committed change up to the log's durable end (in batches). Returns -1
    /// delivered when no table has a destination.
    /// </summary>
    internal async Task<(long Delivered, bool Throttled)> PassAsync(ILogger? logger)
    {
        var db = _engine.Database;
        if (db.Log is not { } log) return (-1, false);
        var targets = new Dictionary<uint, Target>();
        ulong lowest = ulong.MaxValue;
        foreach (var table in db.Tables)
        {
            var destinations = table.Definition.KinesisDestinations;
            if (destinations is not { Count: > 0 }) continue;
            if (destinations.Exists(d => d.Status is KinesisStreamingDestination.Enabling or KinesisStreamingDestination.Updating))
            {
                await db.UpdateTableAsync(table, d =>
                {
                    foreach (var x in d.KinesisDestinations ?? [])
                        if (x.Status is KinesisStreamingDestination.Enabling or KinesisStreamingDestination.Updating) x.Status = KinesisStreamingDestination.Active;
                }).ConfigureAwait(false);
            }

            var live = new List<(KinesisDestinationDefinition Definition, KinesisStream? Stream)>();
            foreach (var d in table.Definition.KinesisDestinations ?? [])
            {
                if (d.Status == KinesisStreamingDestination.Disabled) continue;
                live.Add((d, _engine.Kinesis.Find(KinesisOperations.NameFromArn(d.StreamArn) ?? "") is { Deleted: false } s && s.Definition.Arn == d.StreamArn ? s : null));
                lowest = Math.Min(lowest, d.StartLsn);
            }

            if (live.Count > 0) targets[table.Definition.TableNumber] = new Target(table.Definition, live);
        }

        if (targets.Count == 0) return (-1, false);
        _position ??= Load();
        // No change before the oldest destination's start is wanted: begin (or jump) there.
        if (_position == null || _position.Lsn < lowest) _position = new KinesisDeliveryCheckpoint { Lsn = lowest, Item = 0, Segment = 0, Offset = 0 };

        long delivered = 0;
        var throttled = false;
        var upTo = log.DurableLsn;
        while (!throttled && _position!.Lsn <= upTo)
        {
            var (count, next, stop) = DeliverBatch(log, targets, _position, upTo);
            delivered += count;
            throttled = stop;
            await WhenAppendedDurableAsync().ConfigureAwait(false); // before the checkpoint moves past them
            if (next == _position) break;
            Save(next);
        }

        await FinishDisablesAsync(targets).ConfigureAwait(false);
        if (throttled) logger?.LogDebug("Kinesis delivery: a destination shard is throttled; resuming at change {Lsn}.", _position!.Lsn);
        return (delivered, throttled);
    }

    private (long Delivered, KinesisDeliveryCheckpoint Next, bool Throttled) DeliverBatch(ChangeLog log, Dictionary<uint, Target> targets, KinesisDeliveryCheckpoint at, ulong upTo)
    {
        var segments = log.Segments;
        if (segments.Count == 0) return (0, at, false);
        var index = segments.Count - 1;
        while (index > 0 && segments[index].FirstLsn > at.Lsn) index--;
        var (first, path) = segments[index];
        var startLsn = Math.Max(at.Lsn, first); // older segments are gone
        var startItem = startLsn == at.Lsn ? at.Item : 0;
        var offset = at.Segment == first ? at.Offset : 0;
        var buffer = new ArrayBufferWriter<byte>(2048);
        using var writer = new Utf8JsonWriter(buffer);
        var now = _engine.Time.GetUtcNow().ToUnixTimeMilliseconds();
        long delivered = 0;
        var changes = 0;
        var next = startLsn;
        var nextItem = startItem;
        var throttled = false;
        var end = ChangeLogReader.Read(log.Cipher, path, offset, upTo, (in ChangeRecord r) =>
        {
            if (r.Lsn < startLsn) return true;
            if (changes >= BatchChanges) return false;
            if (r.Kind == ChangeKind.Transaction)
            {
                var items = r.EnumerateTransactionItems();
                var firstItem = r.Lsn == startLsn ? startItem : 0;
                for (var i = 0; items.MoveNext(); i++)
                {
                    if (i < firstItem) continue;
                    var change = items.Current;
                    if (targets.TryGetValue(change.TableNumber, out var target) && !Deliver(target, in change, r.Lsn, i, now, writer, buffer, ref delivered))
                    {
                        (next, nextItem, throttled) = (r.Lsn, i, true);
                        return false;
                    }

                    changes++;
                }

                (next, nextItem) = (r.Lsn + 1, 0);
                return true;
            }

            if (r.Kind == ChangeKind.ItemWrite && targets.TryGetValue(r.TableNumber, out var t) && !Deliver(t, in r, r.Lsn, 0, now, writer, buffer, ref delivered))
            {
                throttled = true;
                return false;
            }

            changes++;
            (next, nextItem) = (r.Lsn + 1, 0);
            return true;
        });

        if (!throttled && changes < BatchChanges && index + 1 < segments.Count && segments[index + 1].FirstLsn <= upTo)
        {
            // The segment is read to its end: the next change is in the following segment.
            var following = segments[index + 1].FirstLsn;
            return (delivered, new KinesisDeliveryCheckpoint { Lsn = Math.Max(next, following), Item = next >= following ? nextItem : 0, Segment = following, Offset = 0 }, false);
        }

        return (delivered, new KinesisDeliveryCheckpoint { Lsn = next, Item = nextItem, Segment = first, Offset = end }, throttled);
    }

    /// <summary>Appends one change to every destination that covers it; false when a shard refused it (throttled).</summary>
    private bool Deliver(Target target, in ChangeRecord r, ulong lsn, int item, long nowMs, Utf8JsonWriter writer, ArrayBufferWriter<byte> buffer, ref long delivered)
    {
        string? partitionKey = null;
        foreach (var (destination, stream) in target.Destinations)
        {
            if (lsn < destination.StartLsn || destination.EndLsn != 0 && lsn >= destination.EndLsn) continue;
            if (stream == null) continue; // the stream was deleted: AWS stops delivering to it too
            buffer.ResetWrittenCount();
            writer.Reset(buffer);
            partitionKey ??= PartitionKey(target.Table, r.Key);
            WriteRecord(writer, in r, lsn, item, target.Table, destination.Precision);
            writer.Flush();
            if (!stream.TryAppend(KinesisStream.HashKeyOf(partitionKey), partitionKey, buffer.WrittenSpan, nowMs, _engine.Kinesis.Options.EnforceShardLimits, out var shard, out var counter)) return false;
            _appended[shard.Log] = counter;
            delivered++;
        }

        return true;
    }

    /// <summary>
    /// The Kinesis partition key of an item's change: the hex MD5 of the table name and the item's partition-key value,
    /// so each item's changes go to one shard in order and items spread over the shards.
    /// </summary>
    internal static string PartitionKey(TableDefinition table, ReadOnlySpan<byte> key)
    {
        KeyCodec.DecodeKey(key, out _, out var hash, out _);
        var output = new ArrayBufferWriter<byte>(64);
        using (var writer = new Utf8JsonWriter(output)) AttrJson.WriteItem(writer, new Dictionary<string, AttrValue>(StringComparer.Ordinal) { [table.HashKey.Name] = hash });
        var json = output.WrittenSpan;
        Span<byte> digest = stackalloc byte[16];
        var bytes = new byte[System.Text.Encoding.UTF8.GetByteCount(table.Name) + 1 + json.Length];
        var n = System.Text.Encoding.UTF8.GetBytes(table.Name, bytes);
        bytes[n] = (byte)'/';
        json.CopyTo(bytes.AsSpan(n + 1));
        MD5.HashData(bytes, digest);
        return Convert.ToHexString(digest);
    }

    /// <summary>One change as the Kinesis record body AWS writes for DynamoDB (<c>recordFormat</c> application/json).</summary>
    internal static void WriteRecord(Utf8JsonWriter w, in ChangeRecord r, ulong lsn, int item, TableDefinition table, string precision)
    {
        KeyCodec.DecodeKey(r.Key, out _, out var hash, out var range);
        var keys = new Dictionary<string, AttrValue>(StringComparer.Ordinal) { [table.HashKey.Name] = hash };
        if (table.RangeKey != null && range is not null) keys[table.RangeKey.Name] = range;
        long size = ItemSize.Of(keys);
        if (r.HasNewImage) size += StoredValue.ItemSize(r.NewImage);
        if (r.HasOldImage) size += StoredValue.ItemSize(r.OldImage);

        w.WriteStartObject();
        w.WriteString("awsRegion"u8, table.Region);
        w.WriteString("eventID"u8, EventId(table, lsn, item));
        w.WriteString("eventName"u8, !r.HasOldImage ? "INSERT" : !r.HasNewImage ? "REMOVE" : "MODIFY");
        if ((r.Flags & ChangeFlags.System) != 0)
        {
            w.WriteStartObject("userIdentity"u8);
            w.WriteString("type"u8, "Service");
            w.WriteString("principalId"u8, "dynamodb.amazonaws.com");
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("userIdentity"u8);
        }

        w.WriteString("recordFormat"u8, "application/json");
        w.WriteString("tableName"u8, table.Name);
        w.WriteStartObject("dynamodb"u8);
        w.WriteNumber("ApproximateCreationDateTime"u8, precision == "MICROSECOND" ? r.TimestampMicros : r.TimestampMicros / 1000);
        w.WriteString("ApproximateCreationDateTimePrecision"u8, precision);
        w.WritePropertyName("Keys"u8);
        AttrJson.WriteItem(w, keys);
        if (r.HasNewImage)
        {
            w.WritePropertyName("NewImage"u8);
            ItemCodec.WriteJson(StoredValue.Item(r.NewImage), w);
        }

        if (r.HasOldImage)
        {
            w.WritePropertyName("OldImage"u8);
            ItemCodec.WriteJson(StoredValue.Item(r.OldImage), w);
        }

        w.WriteNumber("SizeBytes"u8, size);
        w.WriteEndObject();
        w.WriteString("eventSource"u8, "aws:dynamodb");
        w.WriteEndObject();
    }

    private static string EventId(TableDefinition table, ulong lsn, int item)
    {
        Span<byte> bytes = stackalloc byte[16];
        Guid.Parse(table.TableId).TryWriteBytes(bytes);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(bytes[8..], System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]) ^ lsn);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes[4..], System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes[4..]) ^ (uint)item);
        return new Guid(bytes, bigEndian: true).ToString();
    }

    private async Task FinishDisablesAsync(Dictionary<uint, Target> targets)
    {
        var at = _position!.Lsn;
        foreach (var target in targets.Values)
        {
            if (!target.Destinations.Exists(d => d.Definition.Status == KinesisStreamingDestination.Disabling && d.Definition.EndLsn <= at)) continue;
            if (_engine.Database.FindTable(target.Table.Name) is not { } table) continue;
            await _engine.Database.UpdateTableAsync(table, d =>
            {
                foreach (var x in d.KinesisDestinations ?? [])
                    if (x.Status == KinesisStreamingDestination.Disabling && x.EndLsn <= at) x.Status = KinesisStreamingDestination.Disabled;
            }).ConfigureAwait(false);
        }
    }

    /// <summary>Waits until the records this batch appended are durable (one wait per shard, for its last record).</summary>
    private async Task WhenAppendedDurableAsync()
    {
        try
        {
            foreach (var (shard, counter) in _appended) await shard.WhenDurableAsync(counter).ConfigureAwait(false);
        }
        finally
        {
            _appended.Clear();
        }
    }

    private KinesisDeliveryCheckpoint? Load()
    {
        if (CheckpointPath is not { } path || !File.Exists(path)) return null;
        var checkpoint = JsonSerializer.Deserialize(SealedFile.ReadFile(path, _engine.Database.Cipher, SealedKind.KinesisDeliveryCheckpoint), KinesisDeliveryJsonContext.Default.KinesisDeliveryCheckpoint);
        if (checkpoint is { Format: not KinesisDeliveryCheckpoint.CurrentFormat })
            throw new InvalidDataException($"Kinesis delivery checkpoint {path} has format {checkpoint.Format}; this build reads format {KinesisDeliveryCheckpoint.CurrentFormat}.");
        return checkpoint;
    }

    private void Save(KinesisDeliveryCheckpoint checkpoint)
    {
        if (CheckpointPath is { } path)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            SealedFile.WriteAtomically(path, _engine.Database.Cipher, SealedKind.KinesisDeliveryCheckpoint,
                JsonSerializer.SerializeToUtf8Bytes(checkpoint, KinesisDeliveryJsonContext.Default.KinesisDeliveryCheckpoint));
            _engine.Kinesis.Mirror?.Upload(path, File.ReadAllBytes(path));
        }

        _position = checkpoint;
    }

    private sealed record Target(TableDefinition Table, List<(KinesisDestinationDefinition Definition, KinesisStream? Stream)> Destinations);
}

[JsonSourceGenerationOptions(WriteIndented = false)]
[JsonSerializable(typeof(KinesisDeliveryCheckpoint))]
internal sealed partial class KinesisDeliveryJsonContext : JsonSerializerContext;
