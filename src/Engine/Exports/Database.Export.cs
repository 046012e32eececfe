using System.Buffers.Binary;
using Serverless.Engine.Model;
using Serverless.Engine.Protocol;

namespace Serverless.Engine.Storage;

/// <summary>A table's item as an export sees it: its storage key and stored value.</summary>
public delegate void ExportItemVisitor(ReadOnlySpan<byte> key, ReadOnlySpan<byte> stored);

/// <summary>
/// Streaming reads of a table's past for exports (src/Engine/Exports), backups and point-in-time restores: these hold
/// one batch of items at a time plus the keys changed since the moment read, so their memory does not grow with the
/// table.
/// </summary>
public sealed partial class Database
{
    private const int ExportBatch = 1024;

    /// <summary>
    /// Visits every item <paramref name="table"/> held at <paramref name="atMicros"/> (µs since the Unix epoch), each
    /// once, in key order and then the items deleted since. Writes go on meanwhile: after each batch of current items
    /// is read (each under its lock), the change log is followed up to what is committed, and any key changed after
    /// the moment is taken from the old image of its first such change instead. Returns the number of items visited.
    /// </summary>
    public Task<long> StreamTableAtAsync(TableState table, long atMicros, ExportItemVisitor visit, CancellationToken cancellationToken) =>
        StreamTableAtAsync(table, atMicros, (key, stored) =>
        {
            visit(key, stored);
            return default;
        }, cancellationToken);

    /// <inheritdoc cref="StreamTableAtAsync(TableState, long, ExportItemVisitor, CancellationToken)"/>
    public async Task<long> StreamTableAtAsync(TableState table, long atMicros, StoredItemVisitor visit, CancellationToken cancellationToken)
    {
        var log = _log ?? throw new InvalidOperationException("Reading a table's past needs the change log (a data directory).");
        var undo = new Dictionary<byte[], UndoEntry>(ByteArrayComparer.Instance);
        byte[]? decidedUpTo = null;
        var since = DateTimeOffset.FromUnixTimeMilliseconds(atMicros / 1000).UtcDateTime.AddSeconds(-2);
        var cursor = LogCursor.Start(log, since);
        var tableNumber = table.Number;

        void Note(in ChangeRecord r)
        {
            if (r.TableNumber != tableNumber || r.TimestampMicros <= atMicros) return;
            var key = r.Key.ToArray();
            if (undo.ContainsKey(key)) return;

            // A key the scan has passed: it was emitted (or rightly skipped) with a value no later change had touched
            // when its batch was decided, so this change must not bring it back; the entry only stops later records
            // of the key from being taken for its first change.
            var done = decidedUpTo != null && key.AsSpan().SequenceCompareTo(decidedUpTo) <= 0;
            undo[key] = new UndoEntry(r.HasOldImage ? r.OldImage.ToArray() : null, done);
        }

        await cursor.FollowAsync(log, Note).ConfigureAwait(false);

        var lower = new byte[4];
        var upper = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(lower, tableNumber);
        BinaryPrimitives.WriteUInt32BigEndian(upper, tableNumber + 1);
        var inclusive = true;
        var keys = new List<byte[]>(ExportBatch);
        var values = new byte[ExportBatch][];
        var buffer = new PooledBufferWriter(4096);
        long visited = 0;
        try
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                keys.Clear();
                var n = table.Keys.Read(lower, inclusive, upper, false, true, ExportBatch, keys);
                for (var i = 0; i < keys.Count; i++)
                {
                    buffer.Clear();
                    values[i] = ReadLocked(keys[i], buffer) ? buffer.WrittenSpan.ToArray() : null!;
                }

                await cursor.FollowAsync(log, Note).ConfigureAwait(false);
                for (var i = 0; i < keys.Count; i++)
                {
                    var key = keys[i];
                    if (undo.TryGetValue(key, out var entry))
                    {
                        if (entry.Done) continue;
                        entry.Done = true;
                        if (entry.Old != null)
                        {
                            await visit(key, entry.Old).ConfigureAwait(false);
                            visited++;
                        }
                    }
                    else if (values[i] != null)
                    {
                        await visit(key, values[i]).ConfigureAwait(false);
                        visited++;
                    }

                    values[i] = null!;
                }

                if (keys.Count > 0) decidedUpTo = keys[^1];
                if (n < ExportBatch) break;
                lower = keys[^1];
                inclusive = false;
            }

            // Everything after the last key is decided too: what remains are items deleted since the moment.
            decidedUpTo = upper;
            await cursor.FollowAsync(log, Note).ConfigureAwait(false);
            foreach (var (key, entry) in undo)
            {
                if (entry.Done || entry.Old == null) continue;
                entry.Done = true;
                await visit(key, entry.Old).ConfigureAwait(false);
                visited++;
            }
        }
        finally
        {
            buffer.Dispose();
        }

        return visited;
    }

    /// <summary>
    /// Visits every change of table <paramref name="tableNumber"/> logged with a timestamp in
    /// [<paramref name="fromMicros"/>, <paramref name="toMicros"/>), in log order (transactions' items included).
    /// </summary>
    public async Task ReadChangesAsync(uint tableNumber, long fromMicros, long toMicros, ChangeVisitor visit, CancellationToken cancellationToken)
    {
        var log = _log ?? throw new InvalidOperationException("Reading a table's changes needs the change log (a data directory).");
        var cursor = LogCursor.Start(log, DateTimeOffset.FromUnixTimeMilliseconds(fromMicros / 1000).UtcDateTime.AddSeconds(-2));
        cancellationToken.ThrowIfCancellationRequested();
        await cursor.FollowAsync(log, (in ChangeRecord r) =>
        {
            if (r.TableNumber == tableNumber && r.TimestampMicros >= fromMicros && r.TimestampMicros < toMicros) visit(in r);
        }).ConfigureAwait(false);
    }

    private sealed class UndoEntry(byte[]? old, bool done)
    {
        public byte[]? Old { get; } = old;

        public bool Done { get; set; } = done;
    }

    /// <summary>A reading position in the change log (segment and byte offset) that later calls continue from.</summary>
    private sealed class LogCursor
    {
        private ulong _segment;
        private long _offset;

        /// <summary>At the first segment that may hold records written since <paramref name="sinceUtc"/>.</summary>
        public static LogCursor Start(ChangeLog log, DateTime sinceUtc)
        {
            var segments = log.Segments;
            var s = 0;
            while (s + 1 < segments.Count && File.GetLastWriteTimeUtc(segments[s].Path) < sinceUtc) s++;
            return new LogCursor { _segment = segments.Count == 0 ? 0 : segments[s].FirstLsn };
        }

        /// <summary>Visits item changes (transactions expanded) from the position up to every record committed when called.</summary>
        public async Task FollowAsync(ChangeLog log, ChangeVisitor visit)
        {
            var last = log.LastLsn;
            await log.WhenDurableAsync(last).ConfigureAwait(false);
            var upTo = log.DurableLsn;
            var segments = log.Segments;
            for (var s = 0; s < segments.Count; s++)
            {
                var (first, path) = segments[s];
                if (first < _segment) continue;
                if (first > _segment)
                {
                    _segment = first;
                    _offset = 0;
                }

                var reachedEnd = false;
                _offset = ChangeLogReader.Read(log.Cipher, path, _offset, upTo, (in ChangeRecord r) =>
                {
                    if (r.Lsn >= upTo) reachedEnd = true;
                    if (r.Kind == ChangeKind.ItemWrite) visit(in r);
                    else if (r.Kind == ChangeKind.Transaction)
                    {
                        var changes = r.EnumerateTransactionItems();
                        while (changes.MoveNext())
                        {
                            var change = changes.Current;
                            visit(in change);
                        }
                    }

                    return true;
                });

                // Records past upTo are in this segment or later ones: the next call resumes here.
                if (reachedEnd) return;
            }
        }
    }
}
