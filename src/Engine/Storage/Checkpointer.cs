namespace Serverless.Engine.Storage;

/// <summary>
/// Checkpoints with retention: under a barrier, the replay point, the catalog and the frozen indexes; then the
/// indexes' new runs, and the backend (<see cref="IStoreBackend"/>) makes the items, the runs and the manifest
/// durable; then the deletion of log segments no window needs any more. One runs at a time; the write path starts
/// one every <see cref="EngineOptions.CheckpointLogBytes"/> of log.
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

    /// <summary>Takes a checkpoint (the items, the index runs, the manifest), then drops log segments it covers.</summary>
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

            // The log up to replayFrom must be durable locally before a manifest says replay starts there.
            await log.FlushAsync().ConfigureAwait(false);
            var indexes = frozen == null ? null : await _db.IndexFiles!.WriteAsync(frozen, cancellationToken).ConfigureAwait(false);
            _db.Items.SaveTransactionTokens(_db.Root);
            var backend = _db.Backend!;
            var logNeededFrom = await backend.CommitAsync(new CheckpointCommit
            {
                ReplayFrom = replayFrom, NextTableNumber = nextNumber, Tables = tables,
                CreatedAt = _db.Time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0, Indexes = indexes, PurgingTables = purging.Count > 0 ? purging : null,
                Store = _store, Cipher = _db.Cipher, IndexDirectory = _db.IndexFiles!.Directory,
                AppliedChangesDurable = AppliedChangesDurableAsync,
            }, cancellationToken).ConfigureAwait(false);
            if (indexes != null) _db.IndexFiles!.Retire(indexes);

            // Log segments older than both what recovery needs and the retention windows go, here and in the backend.
            log.DeleteSegmentsBefore(logNeededFrom, RetainSince(tables));
            await backend.LogTrimmedAsync(log, cancellationToken).ConfigureAwait(false);
            Interlocked.Exchange(ref _logBytesAtCheckpoint, bytesAtStart);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Completes once every item change applied to the store so far is durable (committed locally and, with blob
    /// storage, shipped). The items of a checkpoint are copied while writes go on, so they may hold changes made after
    /// the replay point, including ones whose record is not durable yet: committed before those records, a checkpoint
    /// would bring back, after a crash, values the log never had, and drop a key whose undurable update moved it past
    /// the copy's scan (issue 13; docs/blob-durability.md, "Checkpoints and unshipped writes"). A write applies and
    /// appends under its stripe lock, so once every stripe was free for a moment, the last sequence number covers
    /// every change applied before (<see cref="Database.ObservedStateDurable"/> waits for it).
    /// </summary>
    private Task AppliedChangesDurableAsync()
    {
        EnterAllStripes();
        ExitAllStripes();
        return _db.ObservedStateDurable();
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
