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
        if (_db.Log is not { } log || log.AppendedBytes - Interlocked.Read(ref _logBytesAtCheckpoint) < _db.Options.CheckpointLogBytes) return;
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
            // Every record up to LastLsn has already been applied to FASTER (writes apply, then append, under
            // the item lock), so a checkpoint started now contains them all; replay resumes after it.
            var replayFrom = log.LastLsn + 1;
            var bytesAtStart = log.AppendedBytes;
            var (tables, nextNumber) = _db.Catalog.Capture();
            var token = await _store.CheckpointAsync(cancellationToken).ConfigureAwait(false);
            await log.FlushAsync().ConfigureAwait(false);
            var manifest = new StoreManifest
            {
                FasterToken = token, ReplayFromLsn = replayFrom, NextTableNumber = nextNumber, Tables = tables,
                CreatedAt = _db.Time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0,
            };
            var root = _db.Root;
            _db.Items.SaveTransactionTokens(root);
            var manifestJson = JsonSerializer.SerializeToUtf8Bytes(manifest, StorageJsonContext.Default.StoreManifest);
            SealedFile.WriteAtomically(Path.Combine(root, ManifestFile), _db.Cipher, SealedKind.Manifest, manifestJson);
            _store.PurgeCheckpointsExcept(token);
            var keepSince = RetainSince(tables);
            if (_db.Blob is { } blob && _db.Shipper is { } shipper)
            {
                // The snapshot goes to blob storage with a manifest naming it; log segments older than both the
                // snapshot's replay point and the retention windows are then deleted there and here (never ones
                // not yet shipped).
                var snapshot = Path.Combine(root, "upload.snap");
                await Task.Run(() => SnapshotFile.Write(snapshot, replayFrom, _store, _db.Cipher), cancellationToken).ConfigureAwait(false);
                var sealedManifest = SealedFile.Seal(_db.Cipher, SealedKind.Manifest, manifestJson);
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
