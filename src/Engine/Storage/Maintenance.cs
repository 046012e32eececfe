using System.Buffers.Binary;

namespace Serverless.Engine.Storage;

/// <summary>
/// Background maintenance of one engine: the TTL sweep, index backfills and expiry fills, purges of dropped tables,
/// and background checkpoints. Every task runs through <see cref="Run"/>, which tracks it: shutdown waits for the
/// running ones, and a failure is counted and kept (<see cref="Failures"/>, <c>/admin/metrics</c>) instead of
/// vanishing with an unobserved task.
/// </summary>
public sealed class Maintenance
{
    private readonly Database _db;
    private readonly FasterStore _store;
    private readonly KeyLocks _locks;
    private readonly object _lock = new();
    private readonly HashSet<Task> _running = [];
    private long _failures;
    private string? _lastFailure;

    internal Maintenance(Database db, FasterStore store, KeyLocks locks)
    {
        _db = db;
        _store = store;
        _locks = locks;
    }

    /// <summary>Background tasks that failed since the engine opened (work cut short by shutdown is not a failure).</summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>The last failure: which task, and its error.</summary>
    public string? LastFailure => Volatile.Read(ref _lastFailure);

    /// <summary>Runs <paramref name="work"/> in the background, tracked until it ends.</summary>
    internal void Run(string name, Func<Task> work)
    {
        var task = Task.Run(async () =>
        {
            try
            {
                await work().ConfigureAwait(false);
            }
            catch (Exception) when (_db.Disposing)
            {
                // Cut short by shutdown: what it did not finish, the next start finishes (rebuilds, replays, purges).
            }
            catch (Exception e)
            {
                Interlocked.Increment(ref _failures);
                Volatile.Write(ref _lastFailure, $"{name}: {e.GetType().Name}: {e.Message}");
            }
        });
        lock (_lock) _running.Add(task);
        _ = task.ContinueWith(
            t =>
            {
                lock (_lock) _running.Remove(t);
            },
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>Waits for the background tasks running now (at shutdown, after new work has been stopped).</summary>
    internal Task DrainAsync()
    {
        Task[] running;
        lock (_lock) running = [.. _running];
        return Task.WhenAll(running);
    }

    /// <summary>
    /// Fills a global secondary index added to a table that already holds items, then marks it ACTIVE. Runs beside
    /// writes: each item is indexed under its stripe lock, and writes maintain the index from the moment it was
    /// added, so an item is indexed by whichever comes first and the other finds it there.
    /// </summary>
    public void StartBackfill(TableState table, uint indexNumber) => Run("backfill", () => BackfillAsync(table, indexNumber));

    /// <inheritdoc cref="StartBackfill"/>
    public async Task BackfillAsync(TableState table, uint indexNumber, CancellationToken cancellationToken = default)
    {
        var completed = await WalkItemsAsync(table, (key, item) =>
        {
            var index = Array.Find(table.Indexes, i => i.Number == indexNumber);
            if (index == null) return false;
            // An item whose index key is empty or too large is left out of the index, as DynamoDB's backfill does.
            if (index.CheckKeys(item, out _)) index.Add(table.Definition, key, item);
            return true;
        }, cancellationToken).ConfigureAwait(false);
        if (!completed) return;
        if (Array.Find(table.Indexes, i => i.Number == indexNumber) is { } filled) filled.Complete = true;
        await _db.UpdateTableAsync(table, d =>
        {
            if (d.Indexes?.Find(i => i.Number == indexNumber) is { } created) created.Status = IndexStatus.Active;
        }).ConfigureAwait(false);
    }

    /// <summary>Fills a table's expiry index after TTL was enabled; writes maintain it from the moment it exists.</summary>
    public void StartExpiryFill(TableState table)
    {
        if (table.Expiry is not { } expiry) return;
        Run("expiry fill", async () =>
        {
            var filled = await WalkItemsAsync(table, (key, item) =>
            {
                if (!ReferenceEquals(table.Expiry, expiry)) return false;
                expiry.Apply(key, null, item);
                return true;
            }).ConfigureAwait(false);
            if (filled) expiry.Complete = true;
        });
    }

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
        BinaryPrimitives.WriteUInt32BigEndian(lower, table.Number);
        BinaryPrimitives.WriteUInt32BigEndian(upper, table.Number + 1);
        var lowerInclusive = true;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_db.Disposing) return false;
            keys.Clear();
            var n = table.Keys.Read(lower, lowerInclusive, upper, false, true, Batch, keys);
            foreach (var key in keys)
            {
                var stripe = _locks[_locks.StripeOf(key)];
                lock (stripe)
                {
                    if (table.Deleting) return false;
                    buffer.Clear();
                    var read = _store.TryReadLocked(key, buffer, stripe, out _); // never waits for the disk under the lock
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
        var now = _db.Time.GetUtcNow().ToUnixTimeSeconds();
        var deleted = 0;
        var entries = new List<byte[]>(Batch);
        foreach (var table in _db.Catalog.All)
        {
            if (table.Expiry is not { } expiry) continue;
            var mutation = new ExpireMutation(expiry.Attribute, now);
            byte[]? after = null;
            while (!cancellationToken.IsCancellationRequested && !_db.Disposing && !table.Deleting)
            {
                entries.Clear();
                var n = expiry.ReadExpired(now, after, Batch, entries);
                var commits = new List<Task>(n);
                foreach (var entry in entries)
                {
                    if (!_db.ExpiresHere(table, ExpiryIndex.StorageKeyOf(entry))) continue; // global tables: Database.Replication.cs
                    var result = _db.Items.Write(table, ExpiryIndex.StorageKeyOf(entry), mutation, ChangeFlags.System);
                    if (result.Status == StoreStatus.TableNotFound) break;
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

    /// <summary>Purges the items of a dropped table in the background.</summary>
    internal void StartPurge(TableState table) => Run("purge", () =>
    {
        Purge(table);
        return Task.CompletedTask;
    });

    /// <summary>
    /// Deletes a dropped table's items, found through its ordered key index. Takes every stripe once first: writes
    /// that began before the table was marked deleting have then finished (and indexed their keys); later ones
    /// see the mark and fail.
    /// </summary>
    private void Purge(TableState table)
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

        _db.Catalog.Purged(table.Number);
    }

    /// <summary>
    /// Start-up with persisted indexes: deletes the items of tables dropped before the crash whose purge had not
    /// ended (one pass over the store, in the background, only when there are any).
    /// </summary>
    internal void StartOrphanPurge()
    {
        var dropped = _db.Catalog.Purging().Where(n => !_db.Catalog.Contains(n)).ToArray();
        if (dropped.Length == 0) return;
        Run("orphan purge", () =>
        {
            var orphans = new List<byte[]>();
            _store.ForEach((key, _) =>
            {
                if (Array.IndexOf(dropped, StoredKey.TableNumber(key)) >= 0) orphans.Add(key.ToArray());
            });
            foreach (var k in orphans) _store.Delete(k);
            foreach (var n in dropped) _db.Catalog.Purged(n);
            return Task.CompletedTask;
        });
    }

    /// <summary>
    /// After a rebuild at start-up every index is complete, so indexes a crash left CREATING are marked ACTIVE. With
    /// persisted indexes, an index whose backfill had not ended by the checkpoint is filled again: in the background
    /// while it is CREATING, before serving in the rare case that its ACTIVE mark was logged after the checkpoint.
    /// </summary>
    internal async Task FinishBackfillsAsync()
    {
        foreach (var table in _db.Catalog.All)
        {
            if (_db.ReplayMaintainsIndexes)
            {
                foreach (var index in table.Indexes.Where(i => !i.Complete))
                {
                    if (index.Definition.Status == IndexStatus.Creating) StartBackfill(table, index.Number);
                    else await BackfillAsync(table, index.Number).ConfigureAwait(false);
                }

                if (table.Expiry is { Complete: false }) StartExpiryFill(table);
                continue;
            }

            if (table.Indexes.Any(i => i.Definition.Status == IndexStatus.Creating))
            {
                await _db.UpdateTableAsync(table, d =>
                {
                    foreach (var i in d.Indexes!) i.Status = IndexStatus.Active;
                }).ConfigureAwait(false);
            }
        }
    }

    private static readonly byte[] MaxKey = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
}
