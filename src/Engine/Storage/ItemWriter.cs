using System.Buffers;
using System.Text.Json;

namespace Serverless.Engine.Storage;

/// <summary>
/// Every change to items goes through here: single-item writes, transactions (ItemWriter.Transactions.cs), and
/// replay at start-up. Under the item's stripe lock it reads the current value, runs the mutation, applies the
/// outcome to FASTER and to everything derived from it (the ordered key index, statistics, secondary and expiry
/// indexes, observers), and appends the change record. Catalog records are appended here too, so one appender
/// orders the log.
/// </summary>
public sealed partial class ItemWriter
{
    private readonly Database _db;
    private readonly FasterStore _store;
    private readonly KeyLocks _locks;
    private readonly object _observeLock = new();
    private IChangeObserver[] _observers = [];

    [ThreadStatic]
    private static PooledBufferWriter? t_current;

    [ThreadStatic]
    private static PooledBufferWriter? t_next;

    internal ItemWriter(Database db, FasterStore store, KeyLocks locks)
    {
        _db = db;
        _store = store;
        _locks = locks;
    }

    private ChangeLog? Log => _db.Log;

    /// <summary>Buffers for the current and the next image of an item, one pair per thread.</summary>
    internal static (PooledBufferWriter Current, PooledBufferWriter Next) ThreadBuffers()
    {
        var current = t_current ??= new PooledBufferWriter(4096);
        var next = t_next ??= new PooledBufferWriter(4096);
        current.Clear();
        next.Clear();
        return (current, next);
    }

    /// <summary>Registers an observer of every applied change (copy-on-write: the write path reads the array without a lock).</summary>
    internal void Observe(IChangeObserver observer)
    {
        lock (_observeLock) _observers = [.. _observers, observer];
    }

    internal IChangeObserver[] Observers => Volatile.Read(ref _observers);

    /// <inheritdoc cref="Database.Write"/>
    public WriteResult Write(TableState table, ReadOnlySpan<byte> key, IItemMutation mutation, ChangeFlags flags = ChangeFlags.None, bool metered = true)
    {
        metered &= (flags & ChangeFlags.System) == 0;
        var (current, next) = ThreadBuffers();
        var stripe = _locks.StripeOf(key);
        lock (_locks[stripe])
        {
            if (table.Deleting) return WriteResult.Refused(StoreStatus.TableNotFound);
            if (IsHeld(stripe, key)) return WriteResult.Refused(StoreStatus.TransactionConflict);
            var exists = _store.TryReadLocked(key, current, _locks[stripe], out var relocked) == StoreRead.Found;
            if (relocked)
            {
                // The read let go of the lock to wait for the disk: check again what was checked under it.
                if (table.Deleting) return WriteResult.Refused(StoreStatus.TableNotFound);
                if (IsHeld(stripe, key)) return WriteResult.Refused(StoreStatus.TransactionConflict);
            }

            var kind = mutation.Apply(current.WrittenSpan, exists, next);
            switch (kind)
            {
                case MutationKind.Put:
                    {
                        if (exists && current.WrittenSpan.SequenceEqual(next.WrittenSpan))
                            return new WriteResult(kind, _db.ObservedStateDurable(), table.Collections?.SizeOf(key) ?? -1);
                        var status = PrepareIndexes(table, key, exists, current.WrittenSpan, true, next.WrittenSpan, out var images, out var problem);
                        if (status != StoreStatus.Ok) return WriteResult.Refused(status, problem);
                        ApplyLocked(table, key, exists, current.WrittenSpan, true, next.WrittenSpan, images, metered);
                        return new WriteResult(kind, Append(flags, table.Number, key, exists, current.WrittenSpan, true, next.WrittenSpan), images?.CollectionBytes ?? -1);
                    }

                case MutationKind.Delete when exists:
                    {
                        PrepareIndexes(table, key, true, current.WrittenSpan, false, default, out var images, out _);
                        ApplyLocked(table, key, true, current.WrittenSpan, false, default, images, metered);
                        return new WriteResult(kind, Append(flags, table.Number, key, true, current.WrittenSpan, false, default), images?.CollectionBytes ?? -1);
                    }

                case MutationKind.Delete:
                    return new WriteResult(MutationKind.None, _db.ObservedStateDurable());
                case MutationKind.None:
                    return new WriteResult(kind, _db.ObservedStateDurable());
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
    internal void ApplyLocked(
        TableState table, ReadOnlySpan<byte> key, bool hasOld, ReadOnlySpan<byte> old, bool hasNew, ReadOnlySpan<byte> @new,
        IndexedImages? images = null, bool metered = true)
    {
        if (hasNew)
        {
            _store.Upsert(key, @new);
            if (!hasOld) table.Keys.AddAbsent(key.ToArray()); // hasOld is the item's state under its lock, as the item count relies on
        }
        else
        {
            _store.Delete(key);
            if (hasOld) table.Keys.Remove(key);
        }

        table.Account((hasNew ? 1 : 0) - (hasOld ? 1 : 0), (hasNew ? StoredValue.ItemSize(@new) : 0) - (hasOld ? StoredValue.ItemSize(old) : 0));
        foreach (var observer in Observers) observer.ItemChanged(table.Number, key, hasNew, @new);
        if (!table.NeedsImages) return;
        images ??= IndexedImages.Of(table, hasOld, old, hasNew, @new);
        var definition = table.Definition;
        foreach (var index in table.Indexes)
        {
            var units = index.Apply(definition, key, images.Old, images.New);
            if (metered && units > 0) index.ChargeWrite(units, _db.Time);
        }

        table.Expiry?.Apply(key, images.Old, images.New);
        if (table.Collections != null) images.CollectionBytes = table.Collections.Add(key, images.CollectionDelta);
    }

    /// <summary>
    /// For a table with secondary indexes: decodes the item's images, checks the new image's index key attributes and
    /// the item-collection limit, and gives what <see cref="ApplyLocked"/> needs (null for tables without indexes).
    /// Anything but <see cref="StoreStatus.Ok"/> means the write must be refused, changing nothing. A delete is never
    /// refused.
    /// </summary>
    internal StoreStatus PrepareIndexes(
        TableState table, ReadOnlySpan<byte> key, bool hasOld, ReadOnlySpan<byte> old, bool hasNew, ReadOnlySpan<byte> @new,
        out IndexedImages? images, out IndexKeyProblem problem)
    {
        problem = default;
        images = null;
        if (!table.NeedsImages) return StoreStatus.Ok;
        images = IndexedImages.Of(table, hasOld, old, hasNew, @new);
        if (images.New != null)
        {
            foreach (var index in table.Indexes)
            {
                if (!index.CheckKeys(images.New, out problem)) return StoreStatus.InvalidIndexKey;
            }
        }

        if (table.Collections != null && images.CollectionDelta > 0
            && table.Collections.SizeOf(key) + images.CollectionDelta > _db.Options.ItemCollectionSizeLimitBytes)
            return StoreStatus.CollectionLimitExceeded;
        return StoreStatus.Ok;
    }

    /// <summary>Appends a catalog record (a table created, changed or, with no definition, dropped). Call under the catalog lock.</summary>
    internal CommitTicket AppendCatalog(uint table, TableDefinition? definition)
    {
        foreach (var observer in Observers) observer.TableChanged(table);
        if (Log is not { } log) return new CommitTicket(0, Task.CompletedTask);
        var body = definition == null ? [] : JsonSerializer.SerializeToUtf8Bytes(definition, StorageJsonContext.Default.TableDefinition);
        return log.AppendCatalog(_db.NowMicros(), table, body);
    }

    private Task Append(ChangeFlags flags, uint table, ReadOnlySpan<byte> key, bool hasOld, ReadOnlySpan<byte> old, bool hasNew, ReadOnlySpan<byte> @new)
    {
        if (Log is not { } log) return Task.CompletedTask;
        var now = _db.NowMicros();
        var ticket = log.AppendItemWrite(now, flags, table, key, hasOld, old, hasNew, @new);
        _db.NoteLocalWrite(table, key, now, ticket.Lsn, !hasNew); // global tables: the item's version (last writer wins)
        _db.Checkpoints.MaybeStart();
        return _db.Durable(ticket);
    }

    /// <summary>
    /// Recovery over persisted indexes: applies one logged item change to FASTER (idempotent) and to the indexes and
    /// statistics: the old image's entries out, the new image's in. The checkpoint saved them exactly as of its replay
    /// point (Checkpointer), so replaying every later record in order ends in exactly the state after the last one.
    /// </summary>
    internal void ReplayApply(TableState table, ReadOnlySpan<byte> key, bool hasOld, ReadOnlySpan<byte> old, bool hasNew, ReadOnlySpan<byte> @new)
    {
        if (!hasOld && !hasNew)
        {
            _store.Delete(key); // a replicated delete of an absent item: nothing to index
            return;
        }

        ApplyLocked(table, key, hasOld, old, hasNew, @new, null, metered: false);
    }

    /// <summary>
    /// Recovery: applies one logged record to FASTER (idempotent: set the key to its new image, or delete it), and to
    /// the indexes when they were opened from the checkpoint (<see cref="ReplayApply"/>).
    /// </summary>
    internal void Replay(in ChangeRecord record)
    {
        switch (record.Kind)
        {
            case ChangeKind.Catalog:
                _db.Catalog.Replay(record.TableNumber, record.CatalogBody);
                break;
            case ChangeKind.ItemWrite:
                if (_db.Catalog.Find(record.TableNumber) is not { } table) break;
                if (_db.ReplayMaintainsIndexes) ReplayApply(table, record.Key, record.HasOldImage, record.OldImage, record.HasNewImage, record.NewImage);
                else if (record.HasNewImage) _store.Upsert(record.Key, record.NewImage);
                else _store.Delete(record.Key);
                break;
            case ChangeKind.Transaction:
                ReplayTransaction(record);
                break;
        }
    }
}
