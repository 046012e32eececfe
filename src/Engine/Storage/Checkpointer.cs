using System.Text.Json;
using Serverless.Engine.Persistence;
using Serverless.Engine.Security.Encryption;

namespace Serverless.Engine.Storage;

/// <summary>
/// Checkpoints with retention: a FASTER snapshot plus the manifest (the catalog and the replay point), the blob
/// snapshot when blob storage holds the truth, and the deletion of log segments no window needs any more. One runs
/// at a time; the write path starts one every <see cref="EngineOptions.CheckpointLogBytes"/> of log.
/// </summary>
public sealed class Checkpointer
{
    internal const string ManifestFile = "manifest.json";

    private readonly Database _db;
    private readonly FasterStore _store;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private long _logBytesAtCheckpoint;
    private int _running;

    internal Checkpointer(Database db, FasterStore store)
    {
        _db = db;
        _store = store;
    }

    /// <summary>Starts a checkpoint in the background when enough log has been written since the last one.</summary>
    internal void MaybeStart()
    {
        // In memory a checkpoint is a trim, due every segment's worth of records so the cap holds.
        var every = _db.MemoryLog != null ? MemoryChangeLog.SegmentBytesFor(_db.Options.InMemoryLogBytes) : _db.Options.CheckpointLogBytes;
        if (_db.Log is not { } log || log.AppendedBytes - Interlocked.Read(ref _logBytesAtCheckpoint) < every) return;
        if (Interlocked.CompareExchange(ref _running, 1, 0) != 0) return;
        _db.Maintenance.Run("checkpoint", async () =>
        {
            try
            {
                await CheckpointAsync().ConfigureAwait(false);
            }
            finally
            {
                Volatile.Write(ref _running, 0);
            }
        });
    }

    /// <summary>Takes a checkpoint: FASTER snapshot plus manifest, then drops log segments it covers.</summary>
    public async Task CheckpointAsync(CancellationToken cancellationToken = default)
    {
        if (_db.Log is not { } log) return;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_db.MemoryLog is { } memory)
            {
                // Nothing to recover from in memory: only trim the log to its windows and its cap.
                var bytes = log.AppendedBytes;
                memory.Trim(RetainSince(_db.Catalog.Capture().Tables));
                Interlocked.Exchange(ref _logBytesAtCheckpoint, bytes);
                return;
            }

            // Every record up to LastLsn has already been applied to FASTER (writes apply, then append, under
            // the item lock), so a checkpoint started now contains them all; replay resumes after it. With every
            // stripe and the catalog lock held, no write is between applying and logging: the indexes, statistics
            // and catalog captured here are exactly the state after LastLsn (Index/IndexCheckpoint.cs).
            ulong replayFrom;
            long bytesAtStart;
            List<TableDefinition> tables;
            uint nextNumber;
            List<uint> purging;
            Index.IndexCheckpoint.Frozen? frozen;
            EnterAllStripes();
            try
            {
                lock (_db.Catalog.SyncRoot)
                {
                    replayFrom = log.LastLsn + 1;
                    bytesAtStart = log.AppendedBytes;
                    (tables, nextNumber) = _db.Catalog.Capture();
                    frozen = _db.IndexFiles?.Freeze(_db.Catalog.AllLocked);
                    purging = _db.Catalog.Purging();
                }
            }
            finally
            {
                ExitAllStripes();
            }

            var token = await _store.CheckpointAsync(cancellationToken).ConfigureAwait(false);
            await log.FlushAsync().ConfigureAwait(false);
            var indexes = frozen == null ? null : await _db.IndexFiles!.WriteAsync(frozen, cancellationToken).ConfigureAwait(false);
            Index.IndexCheckpoint.TestHookBeforeManifest();
            var manifest = new StoreManifest
            {
                FasterToken = token, ReplayFromLsn = replayFrom, NextTableNumber = nextNumber, Tables = tables,
                CreatedAt = _db.Time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0, Indexes = indexes, PurgingTables = purging.Count > 0 ? purging : null,
            };
            var root = _db.Root;
            _db.Items.SaveTransactionTokens(root);
            var manifestJson = JsonSerializer.SerializeToUtf8Bytes(manifest, StorageJsonContext.Default.StoreManifest);
            SealedFile.WriteAtomically(Path.Combine(root, ManifestFile), _db.Cipher, SealedKind.Manifest, manifestJson);
            _store.PurgeCheckpointsExcept(token);
            if (indexes != null) _db.IndexFiles!.Retire(indexes);
            var keepSince = RetainSince(tables);
            if (_db.Blob is { } blob && _db.Shipper is { } shipper)
            {
                // The snapshot goes to blob storage with a manifest naming it; log segments older than both the
                // snapshot's replay point and the retention windows are then deleted there and here (never ones
                // not yet shipped).
                var snapshot = Path.Combine(root, "upload.snap");
                await Task.Run(() => SnapshotFile.Write(snapshot, replayFrom, _store, _db.Cipher), cancellationToken).ConfigureAwait(false);
                // Index runs are not uploaded yet: the container's manifest names none, so a fresh instance rebuilds them.
                var blobManifest = new StoreManifest
                {
                    FasterToken = token, ReplayFromLsn = replayFrom, NextTableNumber = nextNumber, Tables = tables, CreatedAt = manifest.CreatedAt,
                    PurgingTables = manifest.PurgingTables,
                };
                var sealedManifest = SealedFile.Seal(_db.Cipher, SealedKind.Manifest,
                    JsonSerializer.SerializeToUtf8Bytes(blobManifest, StorageJsonContext.Default.StoreManifest));
                await blob.UploadSnapshotAsync(snapshot, replayFrom, sealedManifest, cancellationToken).ConfigureAwait(false);
                File.Delete(snapshot);
                replayFrom = Math.Min(replayFrom, shipper.ShippedLsn + 1);
            }

            log.DeleteSegmentsBefore(replayFrom, keepSince);
            if (_db.Blob is { } b && log.Segments.Count > 0) await b.DeleteLogBeforeAsync(log.Segments[0].FirstLsn, cancellationToken).ConfigureAwait(false);
            Interlocked.Exchange(ref _logBytesAtCheckpoint, bytesAtStart);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Takes every stripe lock, in ascending order like transactions (so never in a cycle with them).</summary>
    private void EnterAllStripes()
    {
        var locks = _db.Locks;
        for (var s = 0; s < locks.Count; s++) Monitor.Enter(locks[s]);
    }

    private void ExitAllStripes()
    {
        var locks = _db.Locks;
        for (var s = locks.Count - 1; s >= 0; s--) Monitor.Exit(locks[s]);
    }

    /// <summary>
    /// The oldest moment the log must still cover: streams read 24 hours back, point-in-time recovery its period,
    /// for live tables and for deleted ones with PITR (their SYSTEM backups). Null when nothing reads the log back.
    /// </summary>
    private DateTime? RetainSince(List<TableDefinition> tables)
    {
        var keep = TimeSpan.Zero;
        foreach (var t in tables)
        {
            if (t.Streams is { Count: > 0 }) keep = Database.StreamRetention;
        }

        foreach (var t in tables.Concat(_db.Backups.List().Where(b => b.Type == "SYSTEM").Select(b => b.Table)))
        {
            if (t.RecoveryPeriodInDays is { } days && TimeSpan.FromDays(days) > keep) keep = TimeSpan.FromDays(days);
        }

        return keep > TimeSpan.Zero ? _db.Time.GetUtcNow().UtcDateTime - keep : null;
    }
}
