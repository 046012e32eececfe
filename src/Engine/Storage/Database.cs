using System.Buffers;
using System.Text.Json;
using Serverless.Engine.Persistence;

using Serverless.Engine.Security.Encryption;

namespace Serverless.Engine.Storage;

/// <summary>
/// The durable state of one engine: tables (the catalog) and items (FASTER), both changed only through the
/// change log. Opening replays the log after the latest checkpoint; checkpoints bound that replay.
/// </summary>
/// <remarks>
/// The jobs live in types named for them: <see cref="TableCatalog"/> (tables), <see cref="ItemWriter"/> (writes,
/// transactions, index maintenance, replay), <see cref="StoreOpener"/> (opening and recovery),
/// <see cref="Checkpointer"/> (checkpoints with retention) and <see cref="Maintenance"/> (tracked background work).
/// This class holds what they share (the store, the log, the item locks, the key) and is the face the operations
/// see; point-in-time reads and backups (Database.History.cs), replication (Database.Replication.cs) and exports
/// (Exports/Database.Export.cs) are partial files of it.
/// </remarks>
public sealed partial class Database : IAsyncDisposable
{
    /// <summary>Successful requests and their latency per table, for <see cref="WriteMetrics"/> (SuccessfulRequestLatency).</summary>
    public Metrics.RequestLatencies Latencies { get; } = new();

    private readonly EngineOptions _options;
    private readonly TimeProvider _time;
    private readonly FasterStore _store;
    private readonly StoreCipher _cipher;
    private readonly DatabaseFiles _files;
    private readonly KeyLocks _locks = new();
    private ChangeLog? _log;
    private int _disposed;

    internal Database(EngineOptions options, TimeProvider time, FasterStore store, StoreCipher cipher, DatabaseFiles files)
    {
        _options = options;
        _time = time;
        _store = store;
        _cipher = cipher;
        _files = files;
        Backups = files.Root.Length > 0 ? new BackupStore(Path.Combine(files.Root, "backups"), cipher, files.Blob) : new BackupStore(null);
        Catalog = new TableCatalog();
        Items = new ItemWriter(this, store, _locks);
        Checkpoints = new Checkpointer(this, store);
        Maintenance = new Maintenance(this, store, _locks);
        Idle = new IdleCompaction(this, options.IdleCompactionAfter);
    }

    /// <summary>Opens the store the options name (see <see cref="StoreOpener"/>).</summary>
    public static Task<Database> OpenAsync(EngineOptions options, TimeProvider time, CancellationToken cancellationToken = default) =>
        StoreOpener.OpenAsync(options, time, cancellationToken);

    /// <summary>The tables, by name and by number.</summary>
    public TableCatalog Catalog { get; }

    /// <summary>Every change to items: writes, transactions, index maintenance.</summary>
    public ItemWriter Items { get; }

    /// <summary>Checkpoints with retention.</summary>
    public Checkpointer Checkpoints { get; }

    /// <summary>Tracked background work: TTL sweep, backfills, purges, background checkpoints.</summary>
    public Maintenance Maintenance { get; }

    /// <summary>The full collection once writes stop (docs/startup.md, "Memory").</summary>
    public IdleCompaction Idle { get; }

    internal EngineOptions Options => _options;

    internal string Root => _files.Root;

    internal BlobPersistence? Blob => _files.Blob;

    /// <summary>Where the store's durable state lives; null in memory-only mode.</summary>
    internal IStoreBackend? Backend => _files.Backend;

    /// <summary>The memory-only engine's change log (docs/streams-in-memory.md); null with a data directory.</summary>
    internal MemoryChangeLog? MemoryLog => _files.MemoryLog;

    internal LogShipper? Shipper { get; set; }

    internal bool Disposing => Volatile.Read(ref _disposed) != 0;

    internal KeyLocks Locks => _locks;

    /// <summary>The persisted ordered indexes (src/Engine/Storage/Index); null in memory-only mode.</summary>
    internal Index.IndexCheckpoint? IndexFiles { get; set; }

    /// <summary>
    /// Whether replay maintains the indexes and statistics (they were opened from the checkpoint) rather than only
    /// FASTER (they are rebuilt from the items after replay).
    /// </summary>
    internal bool ReplayMaintainsIndexes { get; set; }

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
        w.WriteNumber("BackgroundFailures"u8, Maintenance.Failures);
        if (Maintenance.LastFailure is { } failure) w.WriteString("LastBackgroundFailure"u8, failure);
        if (Shipper != null)
        {
            w.WriteStartObject("BlobLog"u8);
            Shipper.Stats.Write(w);
            w.WriteEndObject();
        }

        foreach (var observer in Items.Observers) observer.WriteMetrics(w);
        w.WriteEndObject();
    }

    /// <summary>How the store is encrypted, for the start-up banner (never the key).</summary>
    public string Encryption => _files.Encryption;

    /// <summary>The store's data key: everything the store writes is encrypted with it.</summary>
    public StoreCipher Cipher => _cipher;

    /// <summary>Where the store lives: the data directory, and the blob container when blob storage is configured.</summary>
    public string? BlobLocation => _files.Blob?.Describe;

    /// <summary>
    /// For a write that changed nothing: it must not be acknowledged before the state it saw is durable, or a retry
    /// of a write whose commit failed (applied, but not durable) would be acknowledged without ever being durable.
    /// Waits until every record logged so far is committed (and shipped, with blob storage).
    /// </summary>
    internal Task ObservedStateDurable()
    {
        if (_log == null) return Task.CompletedTask;
        var last = _log.LastLsn;
        if (_log.DurableLsn >= last && (Shipper == null || Shipper.ShippedLsn >= last)) return Task.CompletedTask;
        return Durable(new CommitTicket(last, _log.WhenDurableAsync(last)));
    }

    /// <summary>
    /// The task a writer awaits before acknowledging: the local commit, and with blob storage also the shipping of
    /// the record to blob storage.
    /// </summary>
    internal Task Durable(CommitTicket ticket) => Shipper == null ? ticket.Committed : Shipper.WhenShippedAsync(ticket.Lsn, ticket.Committed);

    /// <summary>The change log; null in memory-only mode, which keeps no log (and so serves no streams).</summary>
    public ChangeLog? Log
    {
        get => _log;
        internal set => _log = value;
    }

    public TimeProvider Time => _time;

    /// <summary>On-demand backups (files under the data directory's <c>backups/</c>, or in memory).</summary>
    public BackupStore Backups { get; }

    /// <summary>The sequence number the next change record will get (0 without a log). Read it under the catalog lock.</summary>
    public ulong NextLsn => _log == null ? 0 : _log.LastLsn + 1;

    /// <summary>How long stream records stay readable, as on AWS.</summary>
    public static readonly TimeSpan StreamRetention = TimeSpan.FromHours(24);

    internal long NowMicros() => (_time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks / 10;

    // The face the operations see: each member hands the call to the part whose job it is.

    public IReadOnlyCollection<TableState> Tables => Catalog.All;

    public TableState? FindTable(string name) => Catalog.Find(name);

    /// <summary>
    /// Creates a table; <paramref name="build"/> draws the table's number, then its indexes' numbers, from the function
    /// it is given. Throws a <see cref="StoreException"/> (<see cref="StoreStatus.TableExists"/>) if the name is taken.
    /// </summary>
    public async Task<TableState> CreateTableAsync(string name, Func<Func<uint>, TableDefinition> build)
    {
        var status = Catalog.Create(name, build, d => Items.AppendCatalog(d.TableNumber, d), out var state, out var ticket);
        if (status != StoreStatus.Ok) throw new StoreException(status, name);
        await Durable(ticket).ConfigureAwait(false);
        return state!;
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
        var status = Catalog.Update(table, change, d => Items.AppendCatalog(d.TableNumber, d), out var ticket);
        if (status != StoreStatus.Ok) throw new StoreException(status, table.Definition.Name);
        await Durable(ticket).ConfigureAwait(false);
        return table;
    }

    /// <summary>Drops a table from the catalog; its items are purged in the background.</summary>
    public async Task DeleteTableAsync(TableState table)
    {
        var status = Catalog.Drop(table, n => Items.AppendCatalog(n, null), out var ticket);
        if (status != StoreStatus.Ok) throw new StoreException(status, table.Definition.Name);
        await Durable(ticket).ConfigureAwait(false);
        Maintenance.StartPurge(table);
    }

    /// <summary>Copies the stored value of an item (<see cref="StoredValue"/> layout) into <paramref name="destination"/>.</summary>
    public bool TryRead(ReadOnlySpan<byte> key, IBufferWriter<byte> destination) => _store.TryRead(key, destination);

    /// <summary>Where opening the store spent its time; zero in memory-only mode.</summary>
    public StoreOpenTimings OpenTimings { get; internal set; }

    /// <summary>
    /// As <see cref="TryRead"/>, but an item on disk completes asynchronously, no thread waiting for it (in memory it
    /// completes at once); <paramref name="destination"/> is written when it completes.
    /// </summary>
    public ValueTask<bool> TryReadAsync(ReadOnlySpan<byte> key, IBufferWriter<byte> destination) => _store.TryReadAsync(key, destination);

    /// <inheritdoc cref="FasterStore.OpenReader"/>
    public FasterStore.StoreReader OpenReader() => _store.OpenReader();

    /// <inheritdoc cref="FasterStore.WarmAsync"/>
    public ValueTask WarmAsync(IReadOnlyList<byte[]> keys) => _store.WarmAsync(keys);

    /// <summary>
    /// Runs <paramref name="mutation"/> on the item under its lock, stores the outcome and appends it to the change
    /// log. Await <see cref="WriteResult.Committed"/> before acknowledging the write.
    /// </summary>
    /// <remarks>
    /// <paramref name="metered"/>: false for work of the service itself (restores), which, like TTL deletes
    /// (<see cref="ChangeFlags.System"/>), consumes no capacity of the table's indexes.
    /// </remarks>
    public WriteResult Write(TableState table, ReadOnlySpan<byte> key, IItemMutation mutation, ChangeFlags flags = ChangeFlags.None, bool metered = true) =>
        Items.Write(table, key, mutation, flags, metered);

    /// <inheritdoc cref="ItemWriter.WriteTransaction"/>
    public TransactionResult WriteTransaction(IReadOnlyList<TransactionItem> items, string? token = null, byte[]? fingerprint = null) =>
        Coordinator?.TryWrite(items, token, fingerprint) ?? Items.WriteTransaction(items, token, fingerprint);

    /// <inheritdoc cref="ItemWriter.ReadTransaction"/>
    public byte[]?[]? ReadTransaction(IReadOnlyList<byte[]> keys, out bool[] conflicts) =>
        Coordinator is { } c && c.TryRead(keys, out var values, out conflicts) ? values : Items.ReadTransaction(keys, out conflicts);

    /// <summary>Set on partition 0 of a partitioned store: runs the transactions that span partitions (docs/scale-out.md).</summary>
    public ITransactionCoordinator? Coordinator { get; internal set; }

    /// <inheritdoc cref="ItemWriter.ClaimTransactionToken"/>
    public TokenClaim ClaimTransactionToken(string token, byte[] fingerprint) => Items.ClaimTransactionToken(token, fingerprint);

    public void ReleaseTransactionToken(string token) => Items.ReleaseTransactionToken(token);

    /// <summary>How many keys in-flight transactions hold right now (tests and diagnostics).</summary>
    public int HeldKeyCount => Items.HeldKeyCount;

    /// <inheritdoc cref="Storage.Maintenance.StartBackfill"/>
    public void StartBackfill(TableState table, uint indexNumber) => Maintenance.StartBackfill(table, indexNumber);

    /// <inheritdoc cref="Storage.Maintenance.StartBackfill"/>
    public Task BackfillAsync(TableState table, uint indexNumber, CancellationToken cancellationToken = default) =>
        Maintenance.BackfillAsync(table, indexNumber, cancellationToken);

    /// <inheritdoc cref="Storage.Maintenance.StartExpiryFill"/>
    public void StartExpiryFill(TableState table) => Maintenance.StartExpiryFill(table);

    /// <inheritdoc cref="Storage.Maintenance.SweepExpiredAsync"/>
    public Task<int> SweepExpiredAsync(CancellationToken cancellationToken = default) => Maintenance.SweepExpiredAsync(cancellationToken);

    /// <inheritdoc cref="Checkpointer.CheckpointAsync"/>
    public Task CheckpointAsync(CancellationToken cancellationToken = default) => Checkpoints.CheckpointAsync(cancellationToken);

    /// <summary>Registers an observer of every applied change (copy-on-write: the write path reads the array without a lock).</summary>
    public void Observe(IChangeObserver observer) => Items.Observe(observer);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        Idle.Dispose();
        await Maintenance.DrainAsync().ConfigureAwait(false);
        if (_log != null)
        {
            await _log.FlushAsync().ConfigureAwait(false);
            try
            {
                await CheckpointAsync().ConfigureAwait(false);
            }
            catch (Exception) when (Blob != null)
            {
                // Blob storage unreachable at shutdown: the shipped log still recovers everything acknowledged.
            }

            await _log.DisposeAsync().ConfigureAwait(false);
            _files.MemoryLog?.Release();
        }

        if (Shipper != null) await Shipper.DisposeAsync().ConfigureAwait(false);
        if (Backend != null) await Backend.DisposeAsync().ConfigureAwait(false);
        _store.Dispose();
        _files.DirectoryLock?.Dispose();
    }
}
