using System.Buffers;
using System.Text.Json;
using Serverless.Engine.Persistence;
using Serverless.Engine.Protocol;

using Serverless.Engine.Security.Encryption;

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
public sealed class TableState
{
    private TableDefinition _definition;
    private SecondaryIndex[] _indexes;
    private long _itemCount;
    private long _sizeBytes;

    public TableState(TableDefinition definition)
    {
        _definition = definition;
        Throughput = new Capacity.ThroughputState(Consumed, isIndex: false);
        _indexes = definition.Indexes?.Select(i => new SecondaryIndex(i)).ToArray() ?? [];
        if (_indexes.Any(i => !i.Definition.Global)) Collections = new ItemCollections();
        if (definition.TimeToLiveAttribute is { } ttl) _expiry = new ExpiryIndex(ttl);
    }

    private ExpiryIndex? _expiry;

    /// <summary>Items by expiry time while TTL is enabled; replaced (empty) when the TTL attribute changes.</summary>
    public ExpiryIndex? Expiry => Volatile.Read(ref _expiry);

    /// <summary>Capacity consumed by requests on this table since the engine opened (system deletes consume none).</summary>
    public CapacityMeter Consumed { get; } = new();

    /// <summary>The table's token buckets, per-key limits and capacity metrics (src/Engine/Capacity).</summary>
    public Capacity.ThroughputState Throughput { get; }

    /// <summary>Whether writes must decode item images: for secondary indexes or TTL.</summary>
    public bool NeedsImages => Indexes.Length > 0 || Expiry != null;

    public TableDefinition Definition => Volatile.Read(ref _definition);

    /// <summary>The table's secondary indexes, in definition order; replaced as a whole when the definition changes.</summary>
    public SecondaryIndex[] Indexes => Volatile.Read(ref _indexes);

    public SecondaryIndex? FindIndex(string name) => Array.Find(Indexes, i => i.Definition.Name == name);

    /// <summary>Sizes of the item collections (items sharing a partition key), kept for tables with local indexes.</summary>
    public ItemCollections? Collections { get; }

    public uint Number => _definition.TableNumber;

    public bool Deleting { get; internal set; }

    public long ItemCount => Interlocked.Read(ref _itemCount);

    public long SizeBytes => Interlocked.Read(ref _sizeBytes);

    /// <summary>The table's storage keys in order; changed under each key's stripe lock together with the store.</summary>
    public OrderedKeyIndex Keys { get; } = new();

    internal void Replace(TableDefinition definition)
    {
        // Keep the entries of indexes that still exist (matched by number); new indexes start empty.
        var current = Indexes;
        var next = new SecondaryIndex[definition.Indexes?.Count ?? 0];
        for (var i = 0; i < next.Length; i++)
        {
            var d = definition.Indexes![i];
            var existing = Array.Find(current, x => x.Number == d.Number);
            if (existing != null) existing.Replace(d);
            next[i] = existing ?? new SecondaryIndex(d);
        }

        Volatile.Write(ref _definition, definition);
        Volatile.Write(ref _indexes, next);
        if (definition.TimeToLiveAttribute != Expiry?.Attribute)
            Volatile.Write(ref _expiry, definition.TimeToLiveAttribute is { } ttl ? new ExpiryIndex(ttl) : null);
    }

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

    /// <summary>Successful requests and their latency per table, for <see cref="WriteMetrics"/> (SuccessfulRequestLatency).</summary>
    public Metrics.RequestLatencies Latencies { get; } = new();

    private readonly EngineOptions _options;
    private readonly TimeProvider _time;
    private readonly FasterStore _store;
    private readonly StoreCipher _cipher;
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
    private BlobPersistence? _blob;
    private LogShipper? _shipper;
    private FileStream? _directoryLock;
    private string _root = "";

    [ThreadStatic]
    private static PooledBufferWriter? t_current;

    [ThreadStatic]
    private static PooledBufferWriter? t_next;

    private Database(EngineOptions options, TimeProvider time, FasterStore store, StoreCipher cipher)
    {
        _options = options;
        _time = time;
        _store = store;
        _cipher = cipher;
    }

    public static async Task<Database> OpenAsync(EngineOptions options, TimeProvider time, CancellationToken cancellationToken = default)
    {
        if (options.InMemory)
        {
            return new Database(options, time, FasterStore.OpenTemporary(options.StoreMemoryBytes), StoreCipher.Ephemeral()) { _nextTableNumber = 1 };
        }

        var root = Path.GetFullPath(options.DataDirectory);
        var blobMode = options.Blob.ConnectionString is { Length: > 0 };

        // With blob storage the local files are only a cache, rebuilt at every start: keep them apart from an embedded
        // store that may live in the same data directory, so switching a setting can never wipe it.
        if (blobMode) root = Path.Combine(root, "blob-cache", options.Blob.Container);
        Directory.CreateDirectory(root);
        var ownership = LockDataDirectory(root);
        BlobPersistence? blob = null;
        string? snapshot = null;
        StoreManifest? manifest = null;
        StoreCipher cipher;
        MasterKeys keys;
        if (blobMode)
        {
            // Blob storage holds the truth: take the single-writer lease, then rebuild the local directory from it.
            blob = new BlobPersistence(options.Blob);
            try
            {
                await blob.AcquireAsync(cancellationToken).ConfigureAwait(false);
                (cipher, keys) = await StoreKeyring.OpenAsync(options.Encryption, blob, blob.HoldsStoreAsync, cancellationToken).ConfigureAwait(false);
                foreach (var dir in new[] { "store", "changelog" })
                {
                    if (Directory.Exists(Path.Combine(root, dir))) Directory.Delete(Path.Combine(root, dir), recursive: true);
                }

                File.Delete(Path.Combine(root, ManifestFile));
                snapshot = Path.Combine(root, "snapshot.snap");
                File.Delete(snapshot);
                var json = await blob.DownloadAsync(snapshot, Path.Combine(root, "changelog"), cancellationToken).ConfigureAwait(false);
                await blob.DownloadBackupsAsync(Path.Combine(root, "backups"), cancellationToken).ConfigureAwait(false);
                if (json is { Length: > 0 })
                    manifest = JsonSerializer.Deserialize(SealedFile.Open(json, cipher, SealedKind.Manifest, blob.Describe + "/manifest.json"), StorageJsonContext.Default.StoreManifest);
                if (!File.Exists(snapshot)) snapshot = null;
            }
            catch
            {
                await blob.DisposeAsync().ConfigureAwait(false);
                ownership.Dispose();
                throw;
            }
        }
        else
        {
            var manifestPath = Path.Combine(root, ManifestFile);
            try
            {
                (cipher, keys) = await StoreKeyring.OpenAsync(options.Encryption, new DirectoryKeyLocation(root), _ => Task.FromResult(HoldsStore(root)), cancellationToken)
                    .ConfigureAwait(false);
                if (File.Exists(manifestPath))
                    manifest = JsonSerializer.Deserialize(SealedFile.ReadFile(manifestPath, cipher, SealedKind.Manifest), StorageJsonContext.Default.StoreManifest);
            }
            catch
            {
                ownership.Dispose();
                throw;
            }
        }

        if (manifest is { Format: > StoreManifest.CurrentFormat })
        {
            ownership.Dispose();
            throw new InvalidOperationException($"The data directory was written by a newer version (manifest format {manifest.Format}).");
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var store = FasterStore.Open(Path.Combine(root, "store"), options.StoreMemoryBytes, cipher);
        try
        {
            if (snapshot != null)
            {
                SnapshotFile.Read(snapshot, cipher, (key, value) => store.Upsert(key.Span, value.Span));
                File.Delete(snapshot);
            }
            else if (manifest != null && manifest.FasterToken != Guid.Empty) store.Recover(manifest.FasterToken);

            var recovered = clock.Elapsed;

            var db = new Database(options, time, store, cipher)
            {
                _nextTableNumber = manifest?.NextTableNumber ?? 1, Backups = new BackupStore(Path.Combine(root, "backups"), cipher, blob), _blob = blob,
                _directoryLock = ownership, _root = root,
                Encryption = keys.Generated
                    ? $"AES-256-GCM; the master key was generated and is kept with the store ({keys.Current.Origin}): set Encryption__Key in production"
                    : $"AES-256-GCM; data key wrapped by the master key from {keys.Current.Origin}",
            };
            foreach (var t in manifest?.Tables ?? []) db.AddTable(t);
            db.LoadTransactionTokens(root);
            db._log = ChangeLog.OpenAndReplay(Path.Combine(root, "changelog"), options.ChangeLog, cipher, manifest?.ReplayFromLsn ?? 1, db.Replay);
            var replayed = clock.Elapsed;
            db.RebuildStatistics();
            db.OpenTimings = new StoreOpenTimings(recovered, replayed - recovered, clock.Elapsed - replayed);
            if (blob != null) db._shipper = new LogShipper(db._log, blob);
            await db.FinishBackfillsAsync().ConfigureAwait(false);
            return db;
        }
        catch
        {
            store.Dispose();
            if (blob != null) await blob.DisposeAsync().ConfigureAwait(false);
            ownership.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Per-table metrics, as CloudWatch would report them for DynamoDB: consumed read and write capacity units since
    /// the engine opened, item count and size, and capacity (provisioned, throttles, burst left, per minute; per GSI
    /// too, see <see cref="Capacity.CapacityMetrics"/>). <c>{"Tables":[{"TableName",...}]}</c>.
    /// </summary>
    public void WriteMetrics(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteStartArray("Tables"u8);
        foreach (var table in Tables.OrderBy(t => t.Definition.Name, StringComparer.Ordinal))
        {
            w.WriteStartObject();
            w.WriteString("TableName"u8, table.Definition.Name);
            w.WriteNumber("ConsumedReadCapacityUnits"u8, table.Consumed.ReadUnits);
            w.WriteNumber("ConsumedWriteCapacityUnits"u8, table.Consumed.WriteUnits);
            if (Latencies.Find(table.Definition.Name) is { } latency)
            {
                // CloudWatch's SuccessfulRequestLatency: how many, and the mean of the last ten seconds.
                w.WriteNumber("SuccessfulRequestCount"u8, latency.Count);
                if (latency.MeanMicros >= 0) w.WriteNumber("SuccessfulRequestLatencyMicros"u8, latency.MeanMicros);
            }

            w.WriteNumber("ItemCount"u8, table.ItemCount);
            w.WriteNumber("TableSizeBytes"u8, table.SizeBytes);
            Capacity.CapacityMetrics.Write(w, table, _time, _options.Capacity);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        foreach (var observer in _observers) observer.WriteMetrics(w);
        w.WriteEndObject();
    }

    /// <summary>Whether a data directory already holds a store (then it must have its key file).</summary>
    private static bool HoldsStore(string root) =>
        File.Exists(Path.Combine(root, ManifestFile))
        || (Directory.Exists(Path.Combine(root, "changelog")) && Directory.EnumerateFiles(Path.Combine(root, "changelog"), "*.log").Any(f => new FileInfo(f).Length > 0));

    /// <summary>Where opening the store spent its time (the start-up banner shows it); zero in memory-only mode.</summary>
    public StoreOpenTimings OpenTimings { get; private set; }

    /// <summary>How the store is encrypted, for the start-up banner (never the key).</summary>
    public string Encryption { get; private init; } = "AES-256-GCM with a key held only in memory";

    /// <summary>The store's data key: everything the store writes is encrypted with it.</summary>
    public StoreCipher Cipher => _cipher;

    /// <summary>
    /// One engine per data directory: an exclusive lock on <c>LOCK</c>, held while the engine is open (the operating
    /// system releases it when the process dies, even by SIGKILL). A second engine on the same directory refuses to start.
    /// </summary>
    private static FileStream LockDataDirectory(string root)
    {
        try
        {
            return new FileStream(Path.Combine(root, "LOCK"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new InvalidOperationException($"The data directory {root} is in use by another instance; stop it or choose another --data-dir.", e);
        }
    }

    /// <summary>Where the store lives: the data directory, and the blob container when blob storage is configured.</summary>
    public string? BlobLocation => _blob?.Describe;

    /// <summary>
    /// For a write that changed nothing: it must not be acknowledged before the state it saw is durable, or a retry
    /// of a write whose commit failed (applied, but not durable) would be acknowledged without ever being durable.
    /// Waits until every record logged so far is committed (and shipped, with blob storage).
    /// </summary>
    private Task ObservedStateDurable()
    {
        if (_log == null) return Task.CompletedTask;
        var last = _log.LastLsn;
        if (_log.DurableLsn >= last && (_shipper == null || _shipper.ShippedLsn >= last)) return Task.CompletedTask;
        return Durable(new CommitTicket(last, _log.WhenDurableAsync(last)));
    }

    /// <summary>
    /// The task a writer awaits before acknowledging: the local commit, and with blob storage also the shipping of
    /// the record to blob storage.
    /// </summary>
    private Task Durable(CommitTicket ticket) => _shipper == null ? ticket.Committed : _shipper.WhenShippedAsync(ticket.Lsn, ticket.Committed);

    /// <summary>The change log; null in memory-only mode, which keeps no log (and so serves no streams).</summary>
    public ChangeLog? Log => _log;

    public TimeProvider Time => _time;

    /// <summary>On-demand backups (files under the data directory's <c>backups/</c>, or in memory).</summary>
    public BackupStore Backups { get; private init; } = new(null);

    /// <summary>The sequence number the next change record will get (0 without a log). Read it under the catalog lock.</summary>
    public ulong NextLsn => _log == null ? 0 : _log.LastLsn + 1;

    /// <summary>How long stream records stay readable, as on AWS.</summary>
    public static readonly TimeSpan StreamRetention = TimeSpan.FromHours(24);

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

    /// <summary>
    /// Creates a table; <paramref name="build"/> draws the table's number, then its indexes' numbers, from the function
    /// it is given. Throws ResourceInUse if the name is taken.
    /// </summary>
    public async Task<TableState> CreateTableAsync(string name, Func<Func<uint>, TableDefinition> build)
    {
        TableState state;
        CommitTicket ticket;
        lock (_catalogLock)
        {
            if (_byName.ContainsKey(name)) throw DynamoErrors.ResourceInUse($"Table already exists: {name}");
            var definition = build(() => _nextTableNumber++);
            state = AddTable(definition);
            ticket = AppendCatalog(definition.TableNumber, definition);
        }

        await Durable(ticket).ConfigureAwait(false);
        return state;
    }

    /// <summary>Applies <paramref name="change"/> to a copy of the definition and commits it.</summary>
    public Task<TableState> UpdateTableAsync(TableState table, Action<TableDefinition> change) =>
        UpdateTableAsync(table, (d, _) => change(d));

    /// <summary>
    /// Applies <paramref name="change"/> to a copy of the definition and commits it; the change may draw numbers for
    /// new indexes from the function it is given.
    /// </summary>
    public async Task<TableState> UpdateTableAsync(TableState table, Action<TableDefinition, Func<uint>> change)
    {
        CommitTicket ticket;
        lock (_catalogLock)
        {
            if (!_byNumber.ContainsKey(table.Number) || table.Deleting) throw DynamoErrors.TableNotFound();
            var copy = table.Definition.Clone();
            change(copy, () => _nextTableNumber++);
            table.Replace(copy);
            ticket = AppendCatalog(copy.TableNumber, copy);
        }

        await Durable(ticket).ConfigureAwait(false);
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

        await Durable(ticket).ConfigureAwait(false);
        _ = Task.Run(() => PurgeTable(table));
    }

    /// <summary>Copies the stored value of an item (<see cref="StoredValue"/> layout) into <paramref name="destination"/>.</summary>
    public bool TryRead(ReadOnlySpan<byte> key, IBufferWriter<byte> destination) => _store.TryRead(key, destination);

    /// <summary>
    /// As <see cref="TryRead"/>, but an item on disk completes asynchronously, no thread waiting for it (in memory it
    /// completes at once); <paramref name="destination"/> is written when it completes.
    /// </summary>
    public ValueTask<bool> TryReadAsync(ReadOnlySpan<byte> key, IBufferWriter<byte> destination) => _store.TryReadAsync(key, destination);

    /// <summary>
    /// Runs <paramref name="mutation"/> on the item under its lock, stores the outcome and appends it to the change
    /// log. Await <see cref="WriteResult.Committed"/> before acknowledging the write.
    /// </summary>
    /// <remarks>
    /// <paramref name="metered"/>: false for work of the service itself (restores), which, like TTL deletes
    /// (<see cref="ChangeFlags.System"/>), consumes no capacity of the table's indexes.
    /// </remarks>
    public WriteResult Write(TableState table, ReadOnlySpan<byte> key, IItemMutation mutation, ChangeFlags flags = ChangeFlags.None, bool metered = true)
    {
        metered &= (flags & ChangeFlags.System) == 0;
        var current = t_current ??= new PooledBufferWriter(4096);
        var next = t_next ??= new PooledBufferWriter(4096);
        current.Clear();
        next.Clear();
        var stripe = _locks.StripeOf(key);
        lock (_locks[stripe])
        {
            if (table.Deleting) throw DynamoErrors.TableNotFound();
            ThrowIfHeldByTransaction(stripe, key);
            var exists = _store.TryReadLocked(key, current, _locks[stripe], out var relocked) == StoreRead.Found;
            if (relocked)
            {
                // The read let go of the lock to wait for the disk: check again what was checked under it.
                if (table.Deleting) throw DynamoErrors.TableNotFound();
                ThrowIfHeldByTransaction(stripe, key);
            }

            var kind = mutation.Apply(current.WrittenSpan, exists, next);
            switch (kind)
            {
                case MutationKind.Put:
                    {
                        if (exists && current.WrittenSpan.SequenceEqual(next.WrittenSpan))
                            return new WriteResult(kind, ObservedStateDurable(), table.Collections?.SizeOf(key) ?? -1);
                        var images = PrepareIndexes(table, key, exists, current.WrittenSpan, true, next.WrittenSpan);
                        ApplyLocked(table, key, exists, current.WrittenSpan, true, next.WrittenSpan, images, metered);
                        return new WriteResult(kind, Append(flags, table.Number, key, exists, current.WrittenSpan, true, next.WrittenSpan), images?.CollectionBytes ?? -1);
                    }

                case MutationKind.Delete when exists:
                    {
                        var images = PrepareIndexes(table, key, true, current.WrittenSpan, false, default);
                        ApplyLocked(table, key, true, current.WrittenSpan, false, default, images, metered);
                        return new WriteResult(kind, Append(flags, table.Number, key, true, current.WrittenSpan, false, default), images?.CollectionBytes ?? -1);
                    }

                case MutationKind.Delete:
                    return new WriteResult(MutationKind.None, ObservedStateDurable());
                case MutationKind.None:
                    return new WriteResult(kind, ObservedStateDurable());
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
    private void ApplyLocked(
        TableState table, ReadOnlySpan<byte> key, bool hasOld, ReadOnlySpan<byte> old, bool hasNew, ReadOnlySpan<byte> @new,
        IndexedImages? images = null, bool metered = true)
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
        foreach (var observer in _observers) observer.ItemChanged(table.Number, key, hasNew, @new);
        if (!table.NeedsImages) return;
        images ??= IndexedImages.Of(table, hasOld, old, hasNew, @new);
        var definition = table.Definition;
        foreach (var index in table.Indexes)
        {
            var units = index.Apply(definition, key, images.Old, images.New);
            if (metered && units > 0) index.ChargeWrite(units, _time);
        }

        table.Expiry?.Apply(key, images.Old, images.New);
        if (table.Collections != null) images.CollectionBytes = table.Collections.Add(key, images.CollectionDelta);
    }

    /// <summary>
    /// For a table with secondary indexes: decodes the item's images, checks the new image's index key attributes and
    /// the item-collection limit, and returns what <see cref="ApplyLocked"/> needs. Null for tables without indexes.
    /// Throws (changing nothing) when the write must be refused.
    /// </summary>
    internal IndexedImages? PrepareIndexes(TableState table, ReadOnlySpan<byte> key, bool hasOld, ReadOnlySpan<byte> old, bool hasNew, ReadOnlySpan<byte> @new)
    {
        if (!table.NeedsImages) return null;
        var images = IndexedImages.Of(table, hasOld, old, hasNew, @new);
        if (images.New != null)
        {
            foreach (var index in table.Indexes) index.CheckKeys(images.New);
        }

        if (table.Collections != null && images.CollectionDelta > 0
            && table.Collections.SizeOf(key) + images.CollectionDelta > _options.ItemCollectionSizeLimitBytes)
            throw DynamoErrors.ItemCollectionSizeLimitExceeded();
        return images;
    }

    /// <summary>
    /// Fills a global secondary index added to a table that already holds items, then marks it ACTIVE. Runs beside
    /// writes: each item is indexed under its stripe lock, and writes maintain the index from the moment it was
    /// added, so an item is indexed by whichever comes first and the other finds it there.
    /// </summary>
    public void StartBackfill(TableState table, uint indexNumber) => _ = Task.Run(async () =>
    {
        try
        {
            await BackfillAsync(table, indexNumber).ConfigureAwait(false);
        }
        catch (Exception) when (Volatile.Read(ref _disposed) != 0)
        {
            // Shut down mid-backfill: the rebuild at the next start indexes every item and finishes the index.
        }
    });

    /// <inheritdoc cref="StartBackfill"/>
    public async Task BackfillAsync(TableState table, uint indexNumber, CancellationToken cancellationToken = default)
    {
        var completed = await WalkItemsAsync(table, (key, item) =>
        {
            var index = Array.Find(table.Indexes, i => i.Number == indexNumber);
            if (index == null) return false;
            index.Add(table.Definition, key, item);
            return true;
        }, cancellationToken).ConfigureAwait(false);
        if (!completed) return;
        await UpdateTableAsync(table, d =>
        {
            if (d.Indexes?.Find(i => i.Number == indexNumber) is { } created) created.Status = IndexStatus.Active;
        }).ConfigureAwait(false);
    }

    /// <summary>Fills a table's expiry index after TTL was enabled; writes maintain it from the moment it exists.</summary>
    public void StartExpiryFill(TableState table) => _ = Task.Run(async () =>
    {
        var expiry = table.Expiry;
        if (expiry == null) return;
        try
        {
            await WalkItemsAsync(table, (key, item) =>
            {
                if (!ReferenceEquals(table.Expiry, expiry)) return false;
                expiry.Apply(key, null, item);
                return true;
            }).ConfigureAwait(false);
        }
        catch (Exception) when (Volatile.Read(ref _disposed) != 0)
        {
            // The rebuild at the next start fills the expiry index anyway.
        }
    });

    /// <summary>
    /// Shows every item of a table to <paramref name="visit"/>, each under its stripe lock, in batches that never
    /// block writes for long. Stops early, returning false, when <paramref name="visit"/> returns false or the table
    /// or engine goes away.
    /// </summary>
    private async Task<bool> WalkItemsAsync(
        TableState table, Func<byte[], IReadOnlyDictionary<string, Model.AttrValue>, bool> visit, CancellationToken cancellationToken = default)
    {
        const int Batch = 512;
        var buffer = new PooledBufferWriter(4096);
        var keys = new List<byte[]>(Batch);
        var lower = new byte[4];
        var upper = new byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(lower, table.Number);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(upper, table.Number + 1);
        var lowerInclusive = true;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (Volatile.Read(ref _disposed) != 0) return false;
            keys.Clear();
            var n = table.Keys.Read(lower, lowerInclusive, upper, false, true, Batch, keys);
            foreach (var key in keys)
            {
                var stripe = _locks[_locks.StripeOf(key)];
                lock (stripe)
                {
                    if (table.Deleting) return false;
                    buffer.Clear();
                    var read = _store.TryReadLocked(key, buffer, stripe, out _);
                    if (table.Deleting) return false;
                    if (read == StoreRead.Found && !visit(key, Model.ItemCodec.Decode(StoredValue.Item(buffer.WrittenSpan)))) return false;
                }
            }

            if (n < Batch) break;
            lower = keys[^1];
            lowerInclusive = false;
            await Task.Yield();
        }

        return !table.Deleting;
    }

    /// <summary>
    /// Deletes expired items (TTL) as system deletes: each is re-checked under its lock, logged with
    /// <see cref="ChangeFlags.System"/> and kept out of capacity accounting. Returns how many items were deleted.
    /// </summary>
    public async Task<int> SweepExpiredAsync(CancellationToken cancellationToken = default)
    {
        const int Batch = 1024;
        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        var deleted = 0;
        var entries = new List<byte[]>(Batch);
        foreach (var table in Tables)
        {
            if (table.Expiry is not { } expiry) continue;
            var mutation = new ExpireMutation(expiry.Attribute, now);
            byte[]? after = null;
            while (!cancellationToken.IsCancellationRequested && Volatile.Read(ref _disposed) == 0 && !table.Deleting)
            {
                entries.Clear();
                var n = expiry.ReadExpired(now, after, Batch, entries);
                var commits = new List<Task>(n);
                foreach (var entry in entries)
                {
                    if (!ExpiresHere(table, ExpiryIndex.StorageKeyOf(entry))) continue; // global tables: Database.Replication.cs
                    WriteResult result;
                    try
                    {
                        result = Write(table, ExpiryIndex.StorageKeyOf(entry), mutation, ChangeFlags.System);
                    }
                    catch (DynamoException) when (table.Deleting)
                    {
                        break;
                    }

                    if (result.Kind != MutationKind.Delete) continue;
                    deleted++;
                    commits.Add(result.Committed);
                }

                await Task.WhenAll(commits).ConfigureAwait(false);
                if (n < Batch) break;
                after = entries[^1];
            }
        }

        return deleted;
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
            var root = _root;
            SaveTransactionTokens(root);
            var manifestJson = JsonSerializer.SerializeToUtf8Bytes(manifest, StorageJsonContext.Default.StoreManifest);
            SealedFile.WriteAtomically(Path.Combine(root, ManifestFile), _cipher, SealedKind.Manifest, manifestJson);
            _store.PurgeCheckpointsExcept(token);
            // Streams and point-in-time recovery read the log: keep the segments their windows need (24 hours for
            // streams, the recovery period for PITR).
            var keep = TimeSpan.Zero;
            if (tables.Any(t => t.Streams is { Count: > 0 })) keep = StreamRetention;
            foreach (var t in tables.Concat(Backups.List().Where(b => b.Type == "SYSTEM").Select(b => b.Table)))
            {
                // Deleted tables with PITR (their SYSTEM backups) keep their window too.
                if (t.RecoveryPeriodInDays is { } days && TimeSpan.FromDays(days) > keep) keep = TimeSpan.FromDays(days);
            }

            var keepSince = keep > TimeSpan.Zero ? _time.GetUtcNow().UtcDateTime - keep : (DateTime?)null;
            if (_blob != null && _shipper != null)
            {
                // The snapshot goes to blob storage with a manifest naming it; log segments older than both the
                // snapshot's replay point and the retention windows are then deleted there and here (never ones
                // not yet shipped).
                var snapshot = Path.Combine(root, "upload.snap");
                await Task.Run(() => SnapshotFile.Write(snapshot, replayFrom, _store, _cipher), cancellationToken).ConfigureAwait(false);
                var sealedManifest = SealedFile.Seal(_cipher, SealedKind.Manifest, manifestJson);
                await _blob.UploadSnapshotAsync(snapshot, replayFrom, sealedManifest, cancellationToken).ConfigureAwait(false);
                File.Delete(snapshot);
                replayFrom = Math.Min(replayFrom, _shipper.ShippedLsn + 1);
            }

            _log.DeleteSegmentsBefore(replayFrom, keepSince);
            if (_blob != null && _log.Segments.Count > 0) await _blob.DeleteLogBeforeAsync(_log.Segments[0].FirstLsn, cancellationToken).ConfigureAwait(false);
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
            try
            {
                await CheckpointAsync().ConfigureAwait(false);
            }
            catch (Exception) when (_blob != null)
            {
                // Blob storage unreachable at shutdown: the shipped log still recovers everything acknowledged.
            }

            await _log.DisposeAsync().ConfigureAwait(false);
        }

        if (_shipper != null) await _shipper.DisposeAsync().ConfigureAwait(false);
        if (_blob != null) await _blob.DisposeAsync().ConfigureAwait(false);
        _store.Dispose();
        _directoryLock?.Dispose();
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
                var stored = key.ToArray();
                table.Keys.Add(stored);
                if (table.NeedsImages)
                {
                    var images = IndexedImages.Of(table, false, default, true, value);
                    foreach (var index in table.Indexes) index.Add(table.Definition, stored, images.New!);
                    table.Collections?.Add(stored, images.CollectionDelta);
                    table.Expiry?.Apply(stored, null, images.New);
                }
            }
            else orphans.Add(key.ToArray());
        });
        foreach (var k in orphans) _store.Delete(k);
    }

    /// <summary>The rebuild at start-up indexed every item, so indexes a crash left CREATING are complete.</summary>
    private async Task FinishBackfillsAsync()
    {
        foreach (var table in Tables)
        {
            if (table.Indexes.Any(i => i.Definition.Status == IndexStatus.Creating))
            {
                await UpdateTableAsync(table, d =>
                {
                    foreach (var i in d.Indexes!) i.Status = IndexStatus.Active;
                }).ConfigureAwait(false);
            }
        }
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
        foreach (var observer in _observers) observer.TableChanged(table);
        if (_log == null) return new CommitTicket(0, Task.CompletedTask);
        var body = definition == null ? [] : JsonSerializer.SerializeToUtf8Bytes(definition, StorageJsonContext.Default.TableDefinition);
        return _log.AppendCatalog(NowMicros(), table, body);
    }

    private Task Append(ChangeFlags flags, uint table, ReadOnlySpan<byte> key, bool hasOld, ReadOnlySpan<byte> old, bool hasNew, ReadOnlySpan<byte> @new)
    {
        if (_log == null) return Task.CompletedTask;
        var now = NowMicros();
        var ticket = _log.AppendItemWrite(now, flags, table, key, hasOld, old, hasNew, @new);
        NoteLocalWrite(table, key, now, ticket.Lsn, !hasNew); // global tables: the item's version (last writer wins)
        MaybeCheckpoint();
        return Durable(ticket);
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

/// <summary>
/// Opening a store: loading FASTER (checkpoint recovery, or the blob snapshot), replaying the change log after it, and
/// the pass over every item that rebuilds statistics and in-memory indexes.
/// </summary>
public readonly record struct StoreOpenTimings(TimeSpan Recovery, TimeSpan Replay, TimeSpan Rebuild)
{
    public override string ToString() =>
        $"FASTER recovery {Recovery.TotalMilliseconds:F0} ms, log replay {Replay.TotalMilliseconds:F0} ms, item pass {Rebuild.TotalMilliseconds:F0} ms";
}

/// <summary>Result of <see cref="Database.Write"/>: what happened, and the commit to await before acknowledging.</summary>
/// <remarks>
/// <see cref="ItemCollectionBytes"/>: for tables with local secondary indexes, the size of the item's collection after
/// the write; -1 otherwise.
/// </remarks>
public readonly record struct WriteResult(MutationKind Kind, Task Committed, long ItemCollectionBytes = -1);

/// <summary>An item's old and new images, decoded once for index maintenance, with the item-collection change.</summary>
internal sealed class IndexedImages
{
    public IReadOnlyDictionary<string, Model.AttrValue>? Old { get; private init; }

    public IReadOnlyDictionary<string, Model.AttrValue>? New { get; private init; }

    /// <summary>Change of the item collection's size: item sizes plus local index entry sizes.</summary>
    public long CollectionDelta { get; private init; }

    public long CollectionBytes { get; set; } = -1;

    public static IndexedImages Of(TableState table, bool hasOld, ReadOnlySpan<byte> old, bool hasNew, ReadOnlySpan<byte> @new)
    {
        var oldItem = hasOld ? Model.ItemCodec.Decode(StoredValue.Item(old)) : null;
        var newItem = hasNew ? Model.ItemCodec.Decode(StoredValue.Item(@new)) : null;
        long delta = 0;
        if (table.Collections != null)
        {
            var definition = table.Definition;
            delta = CollectionShare(table, definition, newItem, hasNew ? StoredValue.ItemSize(@new) : 0)
                - CollectionShare(table, definition, oldItem, hasOld ? StoredValue.ItemSize(old) : 0);
        }

        return new IndexedImages { Old = oldItem, New = newItem, CollectionDelta = delta };
    }

    private static long CollectionShare(TableState table, TableDefinition definition, IReadOnlyDictionary<string, Model.AttrValue>? item, int itemSize)
    {
        if (item == null) return 0;
        long size = itemSize;
        foreach (var index in table.Indexes)
        {
            if (!index.Definition.Global && index.Contains(item)) size += index.EntrySize(item, definition);
        }

        return size;
    }
}

/// <summary>Index status names, as DescribeTable reports them.</summary>
public static class IndexStatus
{
    public const string Creating = "CREATING";
    public const string Active = "ACTIVE";
    public const string Deleting = "DELETING";
}

/// <summary>
/// Capacity units consumed on one table, as CloudWatch's ConsumedReadCapacityUnits / ConsumedWriteCapacityUnits sum
/// them: every request adds what it reports (or would report) as ConsumedCapacity; TTL deletes add nothing.
/// </summary>
public sealed class CapacityMeter
{
    private long _readMilli;
    private long _writeMilli;

    public double ReadUnits => Interlocked.Read(ref _readMilli) / 1000.0;

    public double WriteUnits => Interlocked.Read(ref _writeMilli) / 1000.0;

    internal long ReadMilli => Interlocked.Read(ref _readMilli);

    internal long WriteMilli => Interlocked.Read(ref _writeMilli);

    public void Add(double units, bool isRead) => Interlocked.Add(ref isRead ? ref _readMilli : ref _writeMilli, (long)Math.Round(units * 1000));
}
