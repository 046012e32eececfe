using System.Buffers;
using System.Text.Json;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Operations;

/// <summary>
/// A reader's place in a table's stream: the next record to read. <see cref="Segment"/> and <see cref="Offset"/>
/// are a hint (the change-log segment and a frame boundary at or before the record) so a reader that resumes never
/// rescans the log; <see cref="Lsn"/> and <see cref="Item"/> (the place within a transaction) are authoritative.
/// </summary>
public readonly record struct StreamPosition(string StreamLabel, ulong Segment, ulong Lsn, int Item, long Offset);

/// <summary>One stream record, shaped exactly as GetRecords returns it, and the position just after it.</summary>
public readonly record struct StreamFeedRecord(byte[] Json, StreamPosition Next);

/// <summary>Why a table's stream could not be read.</summary>
public enum StreamFeedStatus
{
    Ok = 0,
    NoTable = 1,

    /// <summary>The table has no enabled stream, or the engine keeps no change log (in-memory mode).</summary>
    NoStream = 2,
}

/// <summary>
/// Reads a table's current stream from the change log for in-process consumers (triggers, replicas): the same
/// records as the Streams API, without shards and iterators. A stream that was disabled and re-enabled is a new
/// stream; a position in the old one restarts at the new one's beginning.
/// </summary>
public static class StreamFeed
{
    /// <summary>The table's enabled stream, if any.</summary>
    public static StreamDefinition? CurrentStream(DynamoEngine engine, string tableName)
    {
        ArgumentNullException.ThrowIfNull(engine);
        if (engine.Database.Log == null) return null;
        var streams = engine.Database.FindTable(tableName)?.Definition.Streams;
        return streams is { Count: > 0 } && streams[^1].EndLsn == 0 ? streams[^1] : null;
    }

    /// <summary>
    /// Where a new reader starts: the oldest retained record of the stream (<paramref name="latest"/> false, Lambda's
    /// TRIM_HORIZON) or just after the last committed record (LATEST).
    /// </summary>
    public static StreamFeedStatus TryStart(DynamoEngine engine, string tableName, bool latest, out StreamPosition position)
    {
        position = default;
        if (engine.Database.FindTable(tableName) == null) return StreamFeedStatus.NoTable;
        if (CurrentStream(engine, tableName) is not { } stream || engine.Database.Log is not { } log) return StreamFeedStatus.NoStream;
        if (!latest)
        {
            position = new StreamPosition(stream.Label, 0, stream.StartLsn, 0, 0);
            return StreamFeedStatus.Ok;
        }

        var tail = log.Tail;
        var lsn = Math.Max(tail.Lsn, stream.StartLsn);
        position = new StreamPosition(stream.Label, tail.Segment, lsn, 0, lsn == tail.Lsn ? tail.Offset : 0);
        return StreamFeedStatus.Ok;
    }

    /// <summary>
    /// Appends up to <paramref name="maxRecords"/> committed records of the table's stream from
    /// <paramref name="position"/> to <paramref name="output"/>, in log order (which is each item's order), and
    /// moves <paramref name="position"/> past everything it read, including other tables' records.
    /// </summary>
    public static StreamFeedStatus Read(DynamoEngine engine, string tableName, ref StreamPosition position, int maxRecords, List<StreamFeedRecord> output)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRecords, 1);
        var db = engine.Database;
        if (db.FindTable(tableName) is not { } table) return StreamFeedStatus.NoTable;
        if (CurrentStream(engine, tableName) is not { } stream || db.Log is not { } log) return StreamFeedStatus.NoStream;
        if (position.StreamLabel != stream.Label || position.Lsn < stream.StartLsn)
            position = new StreamPosition(stream.Label, 0, stream.StartLsn, 0, 0);

        var definition = table.Definition;
        var oldest = (engine.Time.GetUtcNow() - Database.StreamRetention).ToUnixTimeMilliseconds() * 1000;
        var upTo = log.DurableLsn;
        var segments = log.Segments;
        var buffer = new ArrayBufferWriter<byte>(1024);
        using var writer = new Utf8JsonWriter(buffer);
        var count = output.Count;
        var limit = count + maxRecords;
        var at = position;
        while (segments.Count > 0 && at.Lsn <= upTo && count < limit)
        {
            var index = segments.Count - 1;
            while (index > 0 && segments[index].FirstLsn > at.Lsn) index--;
            var (first, path) = segments[index];
            if (first > at.Lsn) at = at with { Lsn = first, Item = 0 }; // older segments are gone (trimmed)
            var offset = at.Segment == first ? at.Offset : 0;
            var start = at with { Segment = first, Offset = offset };
            var next = at.Lsn;
            var nextItem = at.Item;
            var full = false;
            var end = ChangeLogReader.Read(log.Cipher, path, offset, upTo, (in ChangeRecord r) =>
            {
                if (r.Lsn < start.Lsn) return true;
                var firstItem = r.Lsn == start.Lsn ? start.Item : 0;
                if (r.Kind == ChangeKind.Transaction)
                {
                    var items = r.EnumerateTransactionItems();
                    for (var i = 0; items.MoveNext(); i++)
                    {
                        if (i < firstItem) continue;
                        var change = items.Current;
                        if (change.TableNumber != definition.TableNumber || change.TimestampMicros < oldest) continue;
                        if (count >= limit)
                        {
                            (next, nextItem, full) = (r.Lsn, i, true);
                            return false;
                        }

                        output.Add(new StreamFeedRecord(Render(writer, buffer, in change, i, definition, stream.ViewType), start with { Lsn = r.Lsn, Item = i + 1 }));
                        count++;
                    }

                    (next, nextItem) = (r.Lsn + 1, 0);
                    return true;
                }

                var wanted = r.Kind == ChangeKind.ItemWrite && firstItem == 0 && r.TableNumber == definition.TableNumber && r.TimestampMicros >= oldest
                    && (r.HasOldImage || r.HasNewImage); // neither: a replicated tombstone of an absent item
                if (wanted && count >= limit)
                {
                    full = true;
                    return false;
                }

                (next, nextItem) = (r.Lsn + 1, 0);
                if (wanted)
                {
                    output.Add(new StreamFeedRecord(Render(writer, buffer, in r, 0, definition, stream.ViewType), start with { Lsn = r.Lsn + 1, Item = 0 }));
                    count++;
                }

                return true;
            });

            at = new StreamPosition(stream.Label, first, next, nextItem, end);
            // Every record of a closed segment precedes the next segment's first one, which is committed: go on there.
            if (full || index + 1 >= segments.Count || segments[index + 1].FirstLsn > upTo) break;
            var following = segments[index + 1].FirstLsn;
            at = new StreamPosition(stream.Label, following, Math.Max(at.Lsn, following), at.Lsn >= following ? at.Item : 0, 0);
        }

        position = at;
        return StreamFeedStatus.Ok;
    }

    private static byte[] Render(Utf8JsonWriter writer, ArrayBufferWriter<byte> buffer, in ChangeRecord record, int item, TableDefinition table, string viewType)
    {
        buffer.ResetWrittenCount();
        writer.Reset(buffer);
        Streams.WriteRecord(writer, in record, item, table, viewType, table.Region);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }
}
