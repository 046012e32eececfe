using System.Buffers;
using System.Text.Json;
using Serverless.Engine.Protocol;

namespace Serverless.Engine.Storage;

/// <summary>What a mutation decided to do with the item it was shown.</summary>
public enum MutationKind
{
    /// <summary>Leave the item as it is (e.g. deleting an absent item).</summary>
    None,

    /// <summary>Store the new image the mutation wrote.</summary>
    Put,

    /// <summary>Remove the item.</summary>
    Delete,

    /// <summary>The mutation's condition failed: change nothing.</summary>
    ConditionFailed,
}

/// <summary>
/// Decides, under the item's lock, what happens to one item. <paramref name="current"/> is the stored value
/// (<see cref="StoredValue"/> layout) when <paramref name="exists"/>; a Put writes the new stored value to
/// <paramref name="newValue"/>. Implementations must not block or await.
/// </summary>
public interface IItemMutation
{
    MutationKind Apply(ReadOnlySpan<byte> current, bool exists, IBufferWriter<byte> newValue);
}

/// <summary>A table as the engine holds it at run time: its definition and its live statistics.</summary>
public sealed class TableState(TableDefinition definition)
{
    private TableDefinition _definition = definition;
    private long _itemCount;
    private long _sizeBytes;

    public TableDefinition Definition => Volatile.Read(ref _definition);

    public uint Number => _definition.TableNumber;

    public bool Deleting { get; internal set; }

    public long ItemCount => Interlocked.Read(ref _itemCount);

    public long SizeBytes => Interlocked.Read(ref _sizeBytes);

    /// <summary>The table's storage keys in order; changed under each key's stripe lock together with the store.</summary>
    public OrderedKeyIndex Keys { get; } = new();

    internal void Replace(TableDefinition definition) => Volatile.Write(ref _definition, definition);

    internal void Account(long items, long bytes)
    {
        if (items != 0) Interlocked.Add(ref _itemCount, items);
        if (bytes != 0) Interlocked.Add(ref _sizeBytes, bytes);
    }
}

/// <summary>
/// The durable state of one engine: tables (the catalog) and items (FASTER), both changed only through the
/// change log. Opening replays the log after the latest checkpoint; checkpoints bound that replay.
/// </summary>
public sealed partial class Database : IAsyncDisposable
{
    private const string ManifestFile = "manifest.json";

    private readonly EngineOptions _options;
    private readonly TimeProvider _time;
    private readonly FasterStore _store;
    private ChangeLog? _log;
    private readonly KeyLocks _locks = new();
    private readonly object _catalogLock = new();
    private readonly Dictionary<string, TableState> _byName = new(StringComparer.Ordinal);
    private readonly Dictionary<uint, TableState> _byNumber = [];
    private readonly SemaphoreSlim _checkpointGate = new(1, 1);
    private uint _nextTableNumber;
    private long _logBytesAtCheckpoint;
    private int _checkpointRunning;
    private int _disposed;

    [ThreadStatic]
    private static PooledBufferWriter? t_current;

    [ThreadStatic]
    private static PooledBufferWriter? t_next;

    private Database(EngineOptions options, TimeProvider time, FasterStore store)
    {
        _options = options;
        _time = time;
        _store = store;
    }

    public static async Task<Database> OpenAsync(EngineOptions options, TimeProvider time, CancellationToken cancellationToken = default)
    {
        if (options.InMemory)
        {
            return new Database(options, time, FasterStore.OpenTemporary(options.StoreMemoryBytes)) { _nextTableNumber = 1 };
        }

        var root = Path.GetFullPath(options.DataDirectory);
        Directory.CreateDirectory(root);
        var manifestPath = Path.Combine(root, ManifestFile);
        StoreManifest? manifest = null;
        if (File.Exists(manifestPath))
            manifest = JsonSerializer.Deserialize(await File.ReadAllBytesAsync(manifestPath, cancellationToken).ConfigureAwait(false), StorageJsonContext.Default.StoreManifest);
        if (manifest is { Format: > StoreManifest.CurrentFormat })
            throw new InvalidOperationException($"The data directory was written by a newer version (manifest format {manifest.Format}).");

        var store = FasterStore.Open(Path.Combine(root, "store"), options.StoreMemoryBytes);
        try
        {
            if (manifest != null && manifest.FasterToken != Guid.Empty) store.Recover(manifest.FasterToken);
            var db = new Database(options, time, store) { _nextTableNumber = manifest?.NextTableNumber ?? 1 };
            foreach (var t in manifest?.Tables ?? []) db.AddTable(t);
            db.LoadTransactionTokens(root);
            db._log = ChangeLog.OpenAndReplay(Path.Combine(root, "changelog"), options.ChangeLog, manifest?.ReplayFromLsn ?? 1, db.Replay);
            db.RebuildStatistics();
            return db;
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    public IReadOnlyCollection<TableState> Tables
    {
        get
        {
            lock (_catalogLock) return [.. _byName.Values];
        }
    }

    public TableState? FindTable(string name)
    {
        lock (_catalogLock) return _byName.GetValueOrDefault(name);
    }

    /// <summary>Creates a table; <paramref name="build"/> gets the new table number. Throws ResourceInUse if the name is taken.</summary>
    public async Task<TableState> CreateTableAsync(string name, Func<uint, TableDefinition> build)
    {
        TableState state;
        CommitTicket ticket;
        lock (_catalogLock)
        {
            if (_byName.ContainsKey(name)) throw DynamoErrors.ResourceInUse($"Table already exists: {name}");
            var definition = build(_nextTableNumber++);
            state = AddTable(definition);
            ticket = AppendCatalog(definition.TableNumber, definition);
        }

        await ticket.Committed.ConfigureAwait(false);
        return state;
    }

    /// <summary>Applies <paramref name="change"/> to a copy of the definition and commits it.</summary>
    public async Task<TableState> UpdateTableAsync(TableState table, Action<TableDefinition> change)
    {
        CommitTicket ticket;
        lock (_catalogLock)
        {
            if (!_byNumber.ContainsKey(table.Number) || table.Deleting) throw DynamoErrors.TableNotFound();
            var copy = table.Definition.Clone();
            change(copy);
            table.Replace(copy);
            ticket = AppendCatalog(copy.TableNumber, copy);
        }

        await ticket.Committed.ConfigureAwait(false);
        return table;
    }

    /// <summary>Drops a table from the catalog; its items are purged in the background.</summary>
    public async Task DeleteTableAsync(TableState table)
    {
        CommitTicket ticket;
        lock (_catalogLock)
        {
            if (!_byNumber.ContainsKey(table.Number) || table.Deleting) throw DynamoErrors.TableNotFound();
            table.Deleting = true;
            _byName.Remove(table.Definition.Name);
            _byNumber.Remove(table.Number);
            ticket = AppendCatalog(table.Number, null);
        }

        await ticket.Committed.ConfigureAwait(false);
        _ = Task.Run(() => PurgeTable(table));
    }

    /// <summary>Copies the stored value of an item (<see cref="StoredValue"/> layout) into <paramref name="destination"/>.</summary>
    public bool TryRead(ReadOnlySpan<byte> key, IBufferWriter<byte> destination) => _store.TryRead(key, destination);

    /// <summary>
    /// Runs <paramref name="mutation"/> on the item under its lock, stores the outcome and appends it to the change
    /// log. Await <see cref="WriteResult.Committed"/> before acknowledging the write.
    /// </summary>
    public WriteResult Write(TableState table, ReadOnlySpan<byte> key, IItemMutation mutation, ChangeFlags flags = ChangeFlags.None)
    {
        var current = t_current ??= new PooledBufferWriter(4096);
        var next = t_next ??= new PooledBufferWriter(4096);
        current.Clear();
        next.Clear();
        var stripe = _locks.StripeOf(key);
        lock (_locks[stripe])
        {
            if (table.Deleting) throw DynamoErrors.TableNotFound();
            ThrowIfHeldByTransaction(stripe, key);
            var exists = _store.TryRead(key, current);
            var kind = mutation.Apply(current.WrittenSpan, exists, next);
            switch (kind)
            {
                case MutationKind.Put:
                    if (exists && current.WrittenSpan.SequenceEqual(next.WrittenSpan)) return new WriteResult(kind, Task.CompletedTask);
                    ApplyLocked(table, key, exists, current.WrittenSpan, true, next.WrittenSpan);
                    return new WriteResult(kind, Append(flags, table.Number, key, exists, current.WrittenSpan, true, next.WrittenSpan));
                case MutationKind.Delete when exists:
                    ApplyLocked(table, key, true, current.WrittenSpan, false, default);
                    return new WriteResult(kind, Append(flags, table.Number, key, true, current.WrittenSpan, false, default));
                case MutationKind.Delete:
                    return new WriteResult(MutationKind.None, Task.CompletedTask);
                default:
                    return new WriteResult(kind, Task.CompletedTask);
            }
        }
    }

    /// <summary>
    /// Applies one item's change to the store and to everything derived from it (the ordered key index, the table's
    /// statistics, secondary indexes). The caller holds the key's stripe lock; <paramref name="old"/> and
    /// <paramref name="new"/> are stored values (<see cref="StoredValue"/> layout).
    /// </summary>
    private void ApplyLocked(TableState table, ReadOnlySpan<byte> key, bool hasOld, ReadOnlySpan<byte> old, bool hasNew, ReadOnlySpan<byte> @new)
    {
        if (hasNew)
        {
            _store.Upsert(key, @new);
            if (!hasOld) table.Keys.Add(key.ToArray());
        }
        else
        {
            _store.Delete(key);
            if (hasOld) table.Keys.Remove(key);
        }

        table.Account((hasNew ? 1 : 0) - (hasOld ? 1 : 0), (hasNew ? StoredValue.ItemSize(@new) : 0) - (hasOld ? StoredValue.ItemSize(old) : 0));
    }

    /// <summary>Takes a checkpoint: FASTER snapshot plus manifest, then drops log segments it covers.</summary>
    public async Task CheckpointAsync(CancellationToken cancellationToken = default)
    {
        if (_log == null) return;
        await _checkpointGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Every record up to LastLsn has already been applied to FASTER (writes apply, then append, under
            // the item lock), so a checkpoint started now contains them all; replay resumes after it.
            var replayFrom = _log.LastLsn + 1;
            var bytesAtStart = _log.AppendedBytes;
            List<TableDefinition> tables;
            uint nextNumber;
            lock (_catalogLock)
            {
                tables = [.. _byNumber.Values.Select(t => t.Definition)];
                nextNumber = _nextTableNumber;
            }

            var token = await _store.CheckpointAsync(cancellationToken).ConfigureAwait(false);
            await _log.FlushAsync().ConfigureAwait(false);
            var manifest = new StoreManifest
            {
                FasterToken = token, ReplayFromLsn = replayFrom, NextTableNumber = nextNumber, Tables = tables,
                CreatedAt = _time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0,
            };
            var root = Path.GetFullPath(_options.DataDirectory);
            SaveTransactionTokens(root);
            var tmp = Path.Combine(root, ManifestFile + ".tmp");
            await using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                await JsonSerializer.SerializeAsync(fs, manifest, StorageJsonContext.Default.StoreManifest, cancellationToken).ConfigureAwait(false);
                fs.Flush(flushToDisk: true);
            }

            File.Move(tmp, Path.Combine(root, ManifestFile), overwrite: true);
            _log.DeleteSegmentsBefore(replayFrom);
            Interlocked.Exchange(ref _logBytesAtCheckpoint, bytesAtStart);
        }
        finally
        {
            _checkpointGate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        if (_log != null)
        {
            await _log.FlushAsync().ConfigureAwait(false);
            await CheckpointAsync().ConfigureAwait(false);
            await _log.DisposeAsync().ConfigureAwait(false);
        }

        _store.Dispose();
    }

    /// <summary>
    /// Counts items and sizes per table, fills the tables' ordered key indexes (after replay, so replayed writes are
    /// included), and drops leftovers of tables dropped before a crash.
    /// </summary>
    private void RebuildStatistics()
    {
        var orphans = new List<byte[]>();
        _store.ForEach((key, value) =>
        {
            if (_byNumber.TryGetValue(StoredKey.TableNumber(key), out var table))
            {
                table.Account(1, StoredValue.ItemSize(value));
                table.Keys.Add(key.ToArray());
            }
            else orphans.Add(key.ToArray());
        });
        foreach (var k in orphans) _store.Delete(k);
    }

    private TableState AddTable(TableDefinition definition)
    {
        var state = new TableState(definition);
        _byName[definition.Name] = state;
        _byNumber[definition.TableNumber] = state;
        if (definition.TableNumber >= _nextTableNumber) _nextTableNumber = definition.TableNumber + 1;
        return state;
    }

    private CommitTicket AppendCatalog(uint table, TableDefinition? definition)
    {
        if (_log == null) return new CommitTicket(0, Task.CompletedTask);
        var body = definition == null ? [] : JsonSerializer.SerializeToUtf8Bytes(definition, StorageJsonContext.Default.TableDefinition);
        return _log.AppendCatalog(NowMicros(), table, body);
    }

    private Task Append(ChangeFlags flags, uint table, ReadOnlySpan<byte> key, bool hasOld, ReadOnlySpan<byte> old, bool hasNew, ReadOnlySpan<byte> @new)
    {
        if (_log == null) return Task.CompletedTask;
        var ticket = _log.AppendItemWrite(NowMicros(), flags, table, key, hasOld, old, hasNew, @new);
        MaybeCheckpoint();
        return ticket.Committed;
    }

    private void MaybeCheckpoint()
    {
        if (_log!.AppendedBytes - Interlocked.Read(ref _logBytesAtCheckpoint) < _options.CheckpointLogBytes) return;
        if (Interlocked.CompareExchange(ref _checkpointRunning, 1, 0) != 0) return;
        _ = Task.Run(async () =>
        {
            try
            {
                await CheckpointAsync().ConfigureAwait(false);
            }
            finally
            {
                Volatile.Write(ref _checkpointRunning, 0);
            }
        });
    }

    private long NowMicros() => (_time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks / 10;

    private void Replay(in ChangeRecord record)
    {
        switch (record.Kind)
        {
            case ChangeKind.Catalog:
                if (record.CatalogBody.IsEmpty)
                {
                    if (_byNumber.Remove(record.TableNumber, out var dropped)) _byName.Remove(dropped.Definition.Name);
                }
                else
                {
                    var definition = JsonSerializer.Deserialize(record.CatalogBody, StorageJsonContext.Default.TableDefinition)!;
                    if (_byNumber.TryGetValue(definition.TableNumber, out var existing)) existing.Replace(definition);
                    else AddTable(definition);
                }

                break;
            case ChangeKind.ItemWrite:
                if (!_byNumber.ContainsKey(record.TableNumber)) break;
                if (record.HasNewImage) _store.Upsert(record.Key, record.NewImage);
                else _store.Delete(record.Key);
                break;
            case ChangeKind.Transaction:
                ReplayTransaction(record);
                break;
        }
    }

    /// <summary>
    /// Deletes a dropped table's items, found through its ordered key index. Takes every stripe once first: writes
    /// that began before the table was marked deleting have then finished (and indexed their keys); later ones
    /// see the mark and fail.
    /// </summary>
    private void PurgeTable(TableState table)
    {
        for (var s = 0; s < _locks.Count; s++)
        {
            lock (_locks[s])
            {
            }
        }

        var batch = new List<byte[]>(1024);
        while (true)
        {
            batch.Clear();
            if (table.Keys.Read([], true, MaxKey, true, true, 1024, batch) == 0) break;
            foreach (var k in batch)
            {
                _store.Delete(k);
                table.Keys.Remove(k);
            }
        }
    }

    private static readonly byte[] MaxKey = Enumerable.Repeat((byte)0xFF, 8).ToArray();
}

/// <summary>Result of <see cref="Database.Write"/>: what happened, and the commit to await before acknowledging.</summary>
public readonly record struct WriteResult(MutationKind Kind, Task Committed);
