using System.Text.Json;
using Serverless.Engine.Persistence;
using Serverless.Engine.Security.Encryption;

namespace Serverless.Engine.Storage;

/// <summary>
/// Store opening and recovery: lock the local directory; have the backend (<see cref="IStoreBackend"/>) take
/// ownership, open the key and bring the checkpoint down; load FASTER from it; load the catalog; open the persisted
/// indexes; replay the change log after the checkpoint; rebuild what is derived from the items only when the
/// checkpoint had no indexes. The sequence is documented in docs/architecture.md ("Checkpoints and recovery", "Blob storage, as built").
/// </summary>
internal static class StoreOpener
{
    public static async Task<Database> OpenAsync(EngineOptions options, TimeProvider time, CancellationToken cancellationToken)
    {
        if (options.InMemory)
        {
            // No data directory, but a change log all the same (bounded, in RAM), so streams and PITR work.
            var ephemeral = StoreCipher.Ephemeral();
            var memoryLog = MemoryChangeLog.Open(options, ephemeral);
            return new Database(options, time, FasterStore.OpenTemporary(options.StoreMemoryBytes), ephemeral, new DatabaseFiles { MemoryLog = memoryLog })
            {
                Log = memoryLog.Log,
            };
        }

        // The backend (data directory, or blob container with the data directory as its cache) brings the local
        // directory to the latest checkpoint; everything after that is the same on both.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var backend = StoreBackends.For(options, time);
        var root = backend.Root;
        Directory.CreateDirectory(root);
        FileStream ownership;
        try
        {
            ownership = LockDataDirectory(root);
        }
        catch
        {
            await backend.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        StoreCipher cipher;
        MasterKeys keys;
        StoreManifest? manifest;
        try
        {
            (cipher, keys, manifest) = await backend.OpenAsync(options.Encryption, cancellationToken).ConfigureAwait(false);
            if (manifest is { Format: > StoreManifest.CurrentFormat })
                throw new InvalidOperationException($"The data directory was written by a newer version (manifest format {manifest.Format}).");
        }
        catch
        {
            await backend.DisposeAsync().ConfigureAwait(false);
            ownership.Dispose();
            throw;
        }

        var opened = clock.Elapsed;
        var store = FasterStore.Open(Path.Combine(root, "store"), options.StoreMemoryBytes, cipher);
        try
        {
            await backend.LoadAsync(store, manifest, cancellationToken).ConfigureAwait(false);
            var recovered = clock.Elapsed;

            var files = new DatabaseFiles
            {
                Root = root, Backend = backend, DirectoryLock = ownership,
                Encryption = keys.Generated
                    ? $"AES-256-GCM; the master key was generated and is kept with the store ({keys.Current.Origin}): set Encryption__Key in production"
                    : $"AES-256-GCM; data key wrapped by the master key from {keys.Current.Origin}",
            };
            var db = new Database(options, time, store, cipher, files);
            db.Catalog.Load(manifest?.Tables ?? [], manifest?.NextTableNumber ?? 1, manifest?.PurgingTables);
            db.Items.LoadTransactionTokens(root);
            // The checkpoint's indexes and statistics (none before the first checkpoint). A manifest without them (an
            // older version's) has them rebuilt from the items after replay.
            db.IndexFiles = new Index.IndexCheckpoint(Path.Combine(root, "index"), cipher, new Index.BlockCache(options.IndexCacheBytes));
            db.ReplayMaintainsIndexes = db.IndexFiles.Attach(db.Catalog.All, manifest == null ? [] : manifest.Indexes);
            db.Log = ChangeLog.OpenAndReplay(Path.Combine(root, "changelog"), options.ChangeLog, cipher, manifest?.ReplayFromLsn ?? 1, db.Items.Replay);
            var replayed = clock.Elapsed;
            if (db.ReplayMaintainsIndexes) db.Maintenance.StartOrphanPurge();
            else RebuildStatistics(db.Catalog, store);
            db.OpenTimings = new StoreOpenTimings(opened, recovered - opened, replayed - recovered, clock.Elapsed - replayed, !db.ReplayMaintainsIndexes, db.IndexFiles.MissingFile);
            db.Shipper = await backend.ShipAsync(db.Log, db.Time, cancellationToken).ConfigureAwait(false);
            await db.Maintenance.FinishBackfillsAsync().ConfigureAwait(false);
            return db;
        }
        catch
        {
            store.Dispose();
            await backend.DisposeAsync().ConfigureAwait(false);
            ownership.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Counts items and sizes per table, fills the tables' ordered key indexes (after replay, so replayed writes are
    /// included), and drops leftovers of tables dropped before a crash.
    /// </summary>
    private static void RebuildStatistics(TableCatalog catalog, FasterStore store)
    {
        var orphans = new List<byte[]>();
        store.ForEachRecovered((key, value) =>
        {
            if (catalog.Find(StoredKey.TableNumber(key)) is { } table)
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
        foreach (var k in orphans) store.Delete(k);
        foreach (var table in catalog.All)
        {
            foreach (var index in table.Indexes) index.Complete = true;
            if (table.Expiry != null) table.Expiry.Complete = true;
        }

        foreach (var n in catalog.Purging()) catalog.Purged(n);
    }

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
}

/// <summary>What an opened store holds on disk and in blob storage (nothing in memory-only mode).</summary>
internal sealed class DatabaseFiles
{
    public string Root { get; init; } = "";

    /// <summary>Where the store's durable state lives (null in memory-only mode).</summary>
    public IStoreBackend? Backend { get; init; }

    public BlobPersistence? Blob => Backend?.Blob;

    public FileStream? DirectoryLock { get; init; }

    /// <summary>The change log of a memory-only engine (in RAM, bounded); null with a data directory.</summary>
    public MemoryChangeLog? MemoryLog { get; init; }

    public string Encryption { get; init; } = "AES-256-GCM with a key held only in memory";
}

/// <summary>
/// Opening a store (the start-up banner shows it): taking ownership, the key and the manifest (with blob storage the
/// lease too), loading FASTER (checkpoint recovery, or the blob snapshot as it downloads, beside the index files and
/// the log), replaying the change log after it, and the pass over every item that rebuilds statistics and indexes
/// only when the checkpoint had none (<paramref name="MissingIndexFile"/>: a file the manifest names that is absent).
/// </summary>
public readonly record struct StoreOpenTimings(TimeSpan Open, TimeSpan Recovery, TimeSpan Replay, TimeSpan Rebuild, bool Rebuilt, string? MissingIndexFile = null)
{
    public override string ToString() =>
        $"manifest and key {Open.TotalMilliseconds:F0} ms, FASTER recovery {Recovery.TotalMilliseconds:F0} ms, log replay {Replay.TotalMilliseconds:F0} ms, "
        + (!Rebuilt ? "indexes opened from the checkpoint"
            : $"item pass {Rebuild.TotalMilliseconds:F0} ms (indexes rebuilt from the items{(MissingIndexFile is { } f ? $": the checkpoint's index file {f} is missing" : "")})");
}
