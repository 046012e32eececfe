using System.Buffers.Binary;
using System.Collections.Concurrent;

namespace Serverless.Engine.Storage;

/// <summary>What <see cref="Database.ApplyReplicated"/> did with an incoming write.</summary>
public enum ReplicaApplyKind
{
    /// <summary>The write was newer than the item's version: stored, logged (flag Replicated) and versioned.</summary>
    Applied = 0,

    /// <summary>The item holds a newer write (or tombstone): last writer wins, the incoming one is dropped.</summary>
    Older = 1,

    /// <summary>The item's version is this very write (a redelivery): nothing to do.</summary>
    Duplicate = 2,
}

/// <summary>The outcome of a replicated write and the commit to await before acknowledging its message.</summary>
public readonly record struct ReplicaApplyResult(ReplicaApplyKind Kind, Task Committed);

/// <summary>
/// Global tables in the store: item versions (last writer wins) for replicated tables, and the replica write path.
/// Replicated writes go through the same store, indexes and change log as client writes, under the item's lock,
/// but consume no capacity (capacity is counted by the operations, which they bypass).
/// </summary>
public sealed partial class Database
{
    private readonly ConcurrentDictionary<uint, ItemVersions> _versions = new();
    private volatile bool _anyVersions;

    /// <summary>
    /// The region this store serves, recorded as the origin of its own writes in item versions. Set by the replicator.
    /// </summary>
    public string LocalRegion { get; set; } = "";

    /// <summary>The item versions of a replicated table, or null when it is not tracked.</summary>
    public ItemVersions? VersionsOf(TableState table) => _versions.GetValueOrDefault(table.Number);

    /// <summary>
    /// Starts tracking the item versions of <paramref name="table"/>, rebuilding them from the retained change log.
    /// Writes made meanwhile are versioned as they happen; the rebuild only ever adds older knowledge.
    /// </summary>
    public async Task<ItemVersions> TrackVersionsAsync(TableState table)
    {
        ArgumentNullException.ThrowIfNull(table);
        if (_versions.TryGetValue(table.Number, out var known)) return known;
        var versions = new ItemVersions();
        if (!_versions.TryAdd(table.Number, versions)) return _versions[table.Number];
        _anyVersions = true;
        if (_log is { } log)
        {
            // Writes logged before the map existed must be on disk before the scan; later ones version themselves.
            await log.WhenDurableAsync(log.LastLsn).ConfigureAwait(false);
            var number = table.Number;
            var local = LocalRegion;
            foreach (var (_, path) in log.Segments)
            {
                ChangeLogReader.Read(log.Cipher, path, 0, log.DurableLsn, (in ChangeRecord r) =>
                {
                    if (r.Kind == ChangeKind.ItemWrite && r.TableNumber == number) versions.Merge(r.Key.ToArray(), VersionOf(in r, local));
                    else if (r.Kind == ChangeKind.Transaction)
                    {
                        var items = r.EnumerateTransactionItems();
                        while (items.MoveNext())
                        {
                            var item = items.Current;
                            if (item.TableNumber == number) versions.Merge(item.Key.ToArray(), VersionOf(in item, local));
                        }
                    }

                    return true;
                });
            }
        }

        return versions;
    }

    /// <summary>Stops tracking versions of a table that is no longer replicated.</summary>
    public void UntrackVersions(TableState table) => _versions.TryRemove(table.Number, out _);

    /// <summary>The version a logged item write gives its item.</summary>
    public static ItemVersion VersionOf(in ChangeRecord record, string localRegion) =>
        (record.Flags & ChangeFlags.Replicated) != 0
            ? new ItemVersion(record.OriginTimestampMicros, RegionName(record.OriginRegion), record.OriginLsn, !record.HasNewImage)
            : new ItemVersion(record.TimestampMicros, localRegion, record.Lsn, !record.HasNewImage);

    private static readonly ConcurrentDictionary<string, string> RegionNames = new(StringComparer.Ordinal);

    private static string RegionName(ReadOnlySpan<byte> utf8)
    {
        var s = System.Text.Encoding.UTF8.GetString(utf8);
        return RegionNames.GetOrAdd(s, s);
    }

    /// <summary>Called under the key's stripe lock for every local write that was logged.</summary>
    internal void NoteLocalWrite(uint table, ReadOnlySpan<byte> key, long timestampMicros, ulong lsn, bool deleted)
    {
        if (!_anyVersions || !_versions.TryGetValue(table, out var versions)) return;
        versions.Set(key.ToArray(), new ItemVersion(timestampMicros, LocalRegion, lsn, deleted));
    }

    /// <summary>
    /// Applies a write replicated from another region: under the item's lock, stores it only if it is newer than the
    /// item's version (last writer wins), updating indexes, statistics and the change log (flag
    /// <see cref="ChangeFlags.Replicated"/>, with its origin) exactly as a client write does. <paramref name="key"/> is
    /// a storage key of this table (its table number). A key held by a running transaction is retried shortly.
    /// </summary>
    public async Task<ReplicaApplyResult> ApplyReplicatedAsync(TableState table, byte[] key, ReplicaOrigin origin, bool hasNew, ReadOnlyMemory<byte> newValue)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (StoredKey.TableNumber(key) != table.Number) throw new ArgumentException("The key is not one of this table's.", nameof(key));
        for (var attempt = 0; ; attempt++)
        {
            var result = ApplyReplicated(table, key, origin, hasNew, newValue.Span, out var status);
            switch (status)
            {
                case StoreStatus.Ok:
                    return result;
                case StoreStatus.TransactionConflict when attempt < 200:
                    await Task.Delay(5).ConfigureAwait(false);
                    continue;
                default:
                    // The table is being deleted, or this region refuses the item (its index keys): the message waits.
                    throw new StoreException(status, table.Definition.Name);
            }
        }
    }

    private ReplicaApplyResult ApplyReplicated(TableState table, byte[] key, ReplicaOrigin origin, bool hasNew, ReadOnlySpan<byte> newValue, out StoreStatus status)
    {
        status = StoreStatus.Ok;
        var versions = _versions.GetValueOrDefault(table.Number) ?? throw new InvalidOperationException($"Table {table.Definition.Name} is not tracked for replication.");
        var incoming = new ItemVersion(origin.TimestampMicros, RegionNames.GetOrAdd(origin.Region!, origin.Region!), origin.Lsn, !hasNew);
        var (current, _) = ItemWriter.ThreadBuffers();
        var stripe = _locks.StripeOf(key);
        lock (_locks[stripe])
        {
            var exists = false;
            for (var pass = 0; pass < 2; pass++)
            {
                // The second pass checks again after a read that let go of the lock to wait for the disk.
                status = table.Deleting ? StoreStatus.TableNotFound : Items.IsHeld(stripe, key) ? StoreStatus.TransactionConflict : StoreStatus.Ok;
                if (status != StoreStatus.Ok) return default;
                if (versions.TryGet(key, out var known))
                {
                    if (known == incoming) return new ReplicaApplyResult(ReplicaApplyKind.Duplicate, ObservedStateDurable());
                    if (!incoming.IsNewerThan(known)) return new ReplicaApplyResult(ReplicaApplyKind.Older, ObservedStateDurable());
                }

                if (pass == 1) break;
                exists = _store.TryReadLocked(key, current, _locks[stripe], out var relocked) == StoreRead.Found;
                if (!relocked) break;
            }

            IndexedImages? images = null;
            if (exists || hasNew)
            {
                status = Items.PrepareIndexes(table, key, exists, current.WrittenSpan, hasNew, newValue, out images, out _);
                if (status != StoreStatus.Ok) return default;
            }

            versions.Set(key, incoming);
            // Deleting an absent item changes nothing but the tombstone, which is logged all the same (a record with
            // neither image, which streams skip) so that it outlives a restart.
            if (exists || hasNew) Items.ApplyLocked(table, key, exists, current.WrittenSpan, hasNew, newValue, images);

            if (_log == null) return new ReplicaApplyResult(ReplicaApplyKind.Applied, Task.CompletedTask);
            var ticket = _log.AppendItemWrite(NowMicros(), ChangeFlags.Replicated, table.Number, key, exists, current.WrittenSpan, hasNew, newValue, origin);
            Checkpoints.MaybeStart();
            return new ReplicaApplyResult(ReplicaApplyKind.Applied, Durable(ticket));
        }
    }

    /// <summary>
    /// Copies every item of a table with its version, in key order and in batches, for a new replica's first copy.
    /// Each item is read under its stripe lock; items written meanwhile may be seen either way, and the change log
    /// from before the copy started brings them anyway (last writer wins makes the overlap harmless).
    /// </summary>
    public async Task CopyItemsAsync(TableState table, Func<IReadOnlyList<(byte[] Key, byte[] Value, ItemVersion Version)>, Task> batch, CancellationToken cancellationToken)
    {
        const int Batch = 100;
        var versions = VersionsOf(table);
        var buffer = new PooledBufferWriter(4096);
        var keys = new List<byte[]>(Batch);
        var items = new List<(byte[], byte[], ItemVersion)>(Batch);
        var lower = new byte[4];
        var upper = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(lower, table.Number);
        BinaryPrimitives.WriteUInt32BigEndian(upper, table.Number + 1);
        var lowerInclusive = true;
        while (!table.Deleting)
        {
            cancellationToken.ThrowIfCancellationRequested();
            keys.Clear();
            items.Clear();
            var n = table.Keys.Read(lower, lowerInclusive, upper, false, true, Batch, keys);
            foreach (var key in keys)
            {
                var stripe = _locks[_locks.StripeOf(key)];
                lock (stripe)
                {
                    buffer.Clear();
                    if (_store.TryReadLocked(key, buffer, stripe, out _) != StoreRead.Found) continue;
                    var version = versions != null && versions.TryGet(key, out var v) ? v : new ItemVersion(0, LocalRegion, 0, false);
                    items.Add((key, buffer.WrittenSpan.ToArray(), version));
                }
            }

            if (items.Count > 0) await batch(items).ConfigureAwait(false);
            if (n < Batch) return;
            lower = keys[^1];
            lowerInclusive = false;
        }
    }
}

public sealed partial class Database
{
    /// <summary>
    /// Whether the TTL sweep deletes an expired item of this table here: for a replicated table only in the region
    /// that wrote the item last, so the delete (with the service's userIdentity) happens in one region and reaches
    /// the others as a replicated delete.
    /// </summary>
    internal bool ExpiresHere(TableState table, ReadOnlySpan<byte> key) =>
        !_anyVersions || !_versions.TryGetValue(table.Number, out var versions) || !versions.TryGet(key.ToArray(), out var version)
        || version.Region == LocalRegion;
}
