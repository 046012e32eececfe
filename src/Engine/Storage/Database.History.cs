using System.Buffers;
using System.Buffers.Binary;
using Serverless.Engine.Model;

namespace Serverless.Engine.Storage;

/// <summary>Visits one item of a table being streamed (a storage key and a stored value, both the visitor's to keep).</summary>
public delegate ValueTask StoredItemVisitor(byte[] key, byte[] stored);

/// <summary>
/// A table as it was at a past moment, rebuilt from its current items and the change log's old images: the basis of
/// point-in-time recovery and of consistent backups taken without blocking writes.
/// </summary>
public sealed partial class Database
{
    /// <summary>
    /// Visits the items a deleted table held at <paramref name="atMicros"/>: its SYSTEM backup (the items at deletion)
    /// with every change after that moment undone from the change log (no writes can race: the table is gone). The
    /// backup is streamed; only the keys changed since the moment are held.
    /// </summary>
    public async Task StreamDeletedTableAtAsync(BackupMeta systemBackup, long atMicros, StoredItemVisitor visit)
    {
        var log = _log ?? throw new InvalidOperationException("Reading a table's past needs the change log (a data directory).");
        var undo = new Dictionary<byte[], byte[]?>(ByteArrayComparer.Instance);
        CollectFirstChanges(log, systemBackup.Table.TableNumber, atMicros, 0, undo);
        foreach (var (key, stored) in Backups.ReadItems(systemBackup.Arn))
        {
            if (!undo.ContainsKey(key)) await visit(key, stored).ConfigureAwait(false);
        }

        foreach (var (key, old) in undo)
        {
            if (old != null) await visit(key, old).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Visits the table's items now, in key order and in batches, each read under its lock (without a log to undo
    /// concurrent changes, a copy taken during writes is consistent item by item only). Holds one batch at a time.
    /// </summary>
    public async Task StreamCurrentItemsAsync(TableState table, StoredItemVisitor visit)
    {
        const int Batch = 512;
        var buffer = new PooledBufferWriter(4096);
        var keys = new List<byte[]>(Batch);
        var values = new byte[Batch][];
        var lower = new byte[4];
        var upper = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(lower, table.Number);
        BinaryPrimitives.WriteUInt32BigEndian(upper, table.Number + 1);
        var inclusive = true;
        try
        {
            while (true)
            {
                keys.Clear();
                var n = table.Keys.Read(lower, inclusive, upper, false, true, Batch, keys);
                for (var i = 0; i < keys.Count; i++)
                {
                    buffer.Clear();
                    values[i] = ReadLocked(keys[i], buffer) ? buffer.WrittenSpan.ToArray() : null!;
                }

                for (var i = 0; i < keys.Count; i++)
                {
                    if (values[i] != null) await visit(keys[i], values[i]).ConfigureAwait(false);
                    values[i] = null!;
                }

                if (n < Batch) break;
                lower = keys[^1];
                inclusive = false;
            }
        }
        finally
        {
            buffer.Dispose();
        }
    }

    /// <summary>
    /// Reads an item under its stripe lock, never waiting for the disk with the lock held (see
    /// <see cref="FasterStore.TryReadLocked"/>).
    /// </summary>
    private bool ReadLocked(byte[] key, PooledBufferWriter buffer)
    {
        var stripe = _locks[_locks.StripeOf(key)];
        lock (stripe) return _store.TryReadLocked(key, buffer, stripe, out _) == StoreRead.Found;
    }

    /// <summary>
    /// Takes a backup of <paramref name="table"/> now: consistent at this moment without blocking writes (the items
    /// now, with later changes undone from the log). <paramref name="type"/> is USER, SYSTEM (taken when a table with
    /// point-in-time recovery is deleted) or AWS_BACKUP (scheduled). The items stream from the store to the file.
    /// </summary>
    public async Task<BackupMeta> CreateBackupAsync(TableState table, string name, string type)
    {
        var definition = table.Definition;
        var now = _time.GetUtcNow();
        using var writer = Backups.Begin();
        long size = 0;
        ValueTask Add(byte[] key, byte[] stored)
        {
            writer.Add(key, stored);
            size += StoredValue.ItemSize(stored);
            return default;
        }

        await Task.Run(() => _log != null
            ? StreamTableAtAsync(table, (now - DateTimeOffset.UnixEpoch).Ticks / 10, Add, CancellationToken.None)
            : StreamCurrentItemsAsync(table, Add)).ConfigureAwait(false);
        var meta = new BackupMeta
        {
            Arn = $"{definition.Arn}/backup/{now.ToUnixTimeMilliseconds():D14}-{Guid.NewGuid().ToString("N")[..8]}",
            Name = name,
            CreatedAt = now.ToUnixTimeMilliseconds() / 1000.0,
            SizeBytes = size,
            ItemCount = writer.Count,
            Type = type,
            Table = definition.Clone(),
        };
        await Task.Run(() => Backups.AddAsync(meta, writer)).ConfigureAwait(false);
        return meta;
    }

    /// <summary>
    /// Scheduled backups: backs up the named tables (or every table for <c>*</c>) as AWS_BACKUP backups, then deletes
    /// AWS_BACKUP backups older than <paramref name="retention"/> and SYSTEM backups older than 35 days (AWS's
    /// retention for the backup of a deleted table). Returns how many backups were taken and deleted.
    /// </summary>
    public async Task<(int Taken, int Deleted)> RunScheduledBackupsAsync(IReadOnlyCollection<string> tables, TimeSpan retention)
    {
        var taken = 0;
        var stamp = _time.GetUtcNow().UtcDateTime.ToString("yyyyMMdd-HHmmss", System.Globalization.CultureInfo.InvariantCulture);
        foreach (var table in Tables)
        {
            if (!tables.Contains("*") && !tables.Contains(table.Definition.Name)) continue;
            await CreateBackupAsync(table, $"{table.Definition.Name}-scheduled-{stamp}", "AWS_BACKUP").ConfigureAwait(false);
            taken++;
        }

        var now = _time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0;
        var deleted = 0;
        foreach (var backup in Backups.List())
        {
            var age = TimeSpan.FromSeconds(now - backup.CreatedAt);
            if ((backup.Type == "AWS_BACKUP" && age > retention) || (backup.Type == "SYSTEM" && age > TimeSpan.FromDays(35)))
            {
                await Backups.DeleteAsync(backup.Arn).ConfigureAwait(false);
                deleted++;
            }
        }

        return (taken, deleted);
    }

    /// <summary>The oldest moment the change log can still rebuild a table at (µs), or null without a log.</summary>
    public long? OldestRestorableMicros()
    {
        if (_log is not { } log) return null;
        var segments = log.Segments;
        if (segments.Count == 0) return NowMicros();
        long? first = null;
        ChangeLogReader.Read(log.Cipher, segments[0].Path, 0, log.DurableLsn, (in ChangeRecord r) =>
        {
            first = r.TimestampMicros;
            return false;
        });
        return first ?? NowMicros();
    }

    /// <summary>
    /// Writes the items <paramref name="source"/> visits into <paramref name="target"/> (an empty table being
    /// restored) as ordinary logged puts, at most 256 commits in flight. The keys are storage keys of another table:
    /// their table number is replaced.
    /// </summary>
    public async Task LoadAsync(TableState target, Func<StoredItemVisitor, Task> source)
    {
        var pending = new List<Task>(256);
        async ValueTask Put(byte[] key, byte[] stored)
        {
            var targetKey = key.ToArray();
            BinaryPrimitives.WriteUInt32BigEndian(targetKey, target.Number);
            var result = Write(target, targetKey, new PutStored(stored), metered: false);
            if (result.Status != StoreStatus.Ok) throw new StoreException(result.Status, target.Definition.Name);
            pending.Add(result.Committed);
            if (pending.Count < 256) return;
            await Task.WhenAll(pending).ConfigureAwait(false);
            pending.Clear();
        }

        await source(Put).ConfigureAwait(false);
        await Task.WhenAll(pending).ConfigureAwait(false);
    }

    /// <summary>Visits every item of an enumeration (a backup being read).</summary>
    public static async Task VisitAllAsync(IEnumerable<(byte[] Key, byte[] Stored)> items, StoredItemVisitor visit)
    {
        foreach (var (key, stored) in items) await visit(key, stored).ConfigureAwait(false);
    }

    /// <summary>
    /// For every key of table <paramref name="tableNumber"/> changed by a record after <paramref name="afterMicros"/>
    /// and at or after <paramref name="fromLsn"/>, the old image of its first such record (null: it did not exist).
    /// Returns the last sequence number the scan covered.
    /// </summary>
    private static ulong CollectFirstChanges(ChangeLog log, uint tableNumber, long afterMicros, ulong fromLsn, Dictionary<byte[], byte[]?> firstOld)
    {
        var upTo = log.DurableLsn;
        var segments = log.Segments;
        var since = afterMicros == long.MinValue ? DateTime.MinValue : DateTimeOffset.FromUnixTimeMilliseconds(afterMicros / 1000).UtcDateTime.AddSeconds(-2);
        for (var s = 0; s < segments.Count; s++)
        {
            if (s + 1 < segments.Count && segments[s + 1].FirstLsn <= fromLsn) continue;
            if (s + 1 < segments.Count && File.GetLastWriteTimeUtc(segments[s].Path) < since) continue;
            ChangeLogReader.Read(log.Cipher, segments[s].Path, 0, upTo, (in ChangeRecord r) =>
            {
                if (r.Lsn < fromLsn || r.TimestampMicros <= afterMicros) return true;
                if (r.Kind == ChangeKind.ItemWrite) Note(in r);
                else if (r.Kind == ChangeKind.Transaction)
                {
                    var changes = r.EnumerateTransactionItems();
                    while (changes.MoveNext())
                    {
                        var change = changes.Current;
                        Note(in change);
                    }
                }

                return true;
            });
        }

        return upTo;

        void Note(in ChangeRecord r)
        {
            if (r.TableNumber != tableNumber) return;
            var key = r.Key.ToArray();
            if (!firstOld.ContainsKey(key)) firstOld[key] = r.HasOldImage ? r.OldImage.ToArray() : null;
        }
    }

    /// <summary>Stores a given stored value as it is (restores).</summary>
    private sealed class PutStored(byte[] stored) : IItemMutation
    {
        public MutationKind Apply(ReadOnlySpan<byte> current, bool exists, IBufferWriter<byte> newValue)
        {
            newValue.Write(stored);
            return MutationKind.Put;
        }
    }
}
