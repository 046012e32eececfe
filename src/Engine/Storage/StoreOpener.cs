using System.Text.Json;
using Serverless.Engine.Persistence;
using Serverless.Engine.Security.Encryption;

namespace Serverless.Engine.Storage;

/// <summary>
/// Store opening and recovery: lock the data directory; with blob storage take the single-writer lease and rebuild
/// the local cache from the container; open the key; recover FASTER from the manifest's checkpoint (or load the
/// blob snapshot); load the catalog; replay the change log after the checkpoint; rebuild what is derived from the
/// items. The sequence is documented in docs/architecture.md ("Checkpoints and recovery", "Blob storage, as built").
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
            blob = new BlobPersistence(options.Blob, time);
            try
            {
                await blob.AcquireAsync(cancellationToken).ConfigureAwait(false);
                (cipher, keys) = await StoreKeyring.OpenAsync(options.Encryption, blob, blob.HoldsStoreAsync, cancellationToken).ConfigureAwait(false);
                foreach (var dir in new[] { "store", "changelog" })
                {
                    if (Directory.Exists(Path.Combine(root, dir))) Directory.Delete(Path.Combine(root, dir), recursive: true);
                }

                File.Delete(Path.Combine(root, Checkpointer.ManifestFile));
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
            var manifestPath = Path.Combine(root, Checkpointer.ManifestFile);
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

            var files = new DatabaseFiles
            {
                Root = root, Blob = blob, DirectoryLock = ownership,
                Encryption = keys.Generated
                    ? $"AES-256-GCM; the master key was generated and is kept with the store ({keys.Current.Origin}): set Encryption__Key in production"
                    : $"AES-256-GCM; data key wrapped by the master key from {keys.Current.Origin}",
            };
            var db = new Database(options, time, store, cipher, files);
            db.Catalog.Load(manifest?.Tables ?? [], manifest?.NextTableNumber ?? 1, manifest?.PurgingTables);
            db.Items.LoadTransactionTokens(root);
            // The checkpoint's indexes and statistics (none before the first checkpoint). A manifest without them (an
            // older version's, or blob storage's, which holds no runs yet) has them rebuilt from the items after replay.
            db.IndexFiles = new Index.IndexCheckpoint(Path.Combine(root, "index"), cipher, new Index.BlockCache(options.IndexCacheBytes));
            db.ReplayMaintainsIndexes = db.IndexFiles.Attach(db.Catalog.All, manifest == null ? [] : blob == null ? manifest.Indexes : null);
            db.Log = ChangeLog.OpenAndReplay(Path.Combine(root, "changelog"), options.ChangeLog, cipher, manifest?.ReplayFromLsn ?? 1, db.Items.Replay);
            var replayed = clock.Elapsed;
            if (db.ReplayMaintainsIndexes) db.Maintenance.StartOrphanPurge();
            else RebuildStatistics(db.Catalog, store);
            db.OpenTimings = new StoreOpenTimings(recovered, replayed - recovered, clock.Elapsed - replayed);
            if (blob != null) db.Shipper = new LogShipper(db.Log, blob, options.Blob, db.Time);
            await db.Maintenance.FinishBackfillsAsync().ConfigureAwait(false);
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

    /// <summary>Whether a data directory already holds a store (then it must have its key file).</summary>
    private static bool HoldsStore(string root) =>
        File.Exists(Path.Combine(root, Checkpointer.ManifestFile))
        || (Directory.Exists(Path.Combine(root, "changelog")) && Directory.EnumerateFiles(Path.Combine(root, "changelog"), "*.log").Any(f => new FileInfo(f).Length > 0));

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

    public BlobPersistence? Blob { get; init; }

    public FileStream? DirectoryLock { get; init; }

    /// <summary>The change log of a memory-only engine (in RAM, bounded); null with a data directory.</summary>
    public MemoryChangeLog? MemoryLog { get; init; }

    public string Encryption { get; init; } = "AES-256-GCM with a key held only in memory";
}

/// <summary>
/// Opening a store: loading FASTER (checkpoint recovery, or the blob snapshot), replaying the change log after it, and
/// the pass over every item that rebuilds statistics and in-memory indexes (the start-up banner shows it).
/// </summary>
public readonly record struct StoreOpenTimings(TimeSpan Recovery, TimeSpan Replay, TimeSpan Rebuild)
{
    public override string ToString() =>
        $"FASTER recovery {Recovery.TotalMilliseconds:F0} ms, log replay {Replay.TotalMilliseconds:F0} ms, item pass {Rebuild.TotalMilliseconds:F0} ms";
}
