using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Text;
using Serverless.Engine.Model;

namespace Serverless.Engine.Storage;

/// <summary>One action of a transaction: the item's table and storage key, and what to do with it under the locks.</summary>
public readonly record struct TransactionItem(TableState Table, byte[] Key, IItemMutation Mutation);

/// <summary>What became of one action of a transaction.</summary>
public enum TransactionOutcome
{
    /// <summary>Its condition held (and, if the transaction committed, its change was applied).</summary>
    Ok,

    /// <summary>Its condition failed.</summary>
    ConditionFailed,

    /// <summary>Another transaction holds the item (its commit is in flight).</summary>
    Conflict,

    /// <summary>The action was invalid on the current item (see <see cref="TransactionResult.Errors"/>).</summary>
    Invalid,

    /// <summary>The change would take a table's item collection past its size limit (local secondary indexes).</summary>
    CollectionLimit,
}

/// <summary>
/// The outcome of <see cref="ItemWriter.WriteTransaction"/>: either committed (await <see cref="Durable"/> before
/// acknowledging) or cancelled with one outcome per action, in request order, and nothing applied. A
/// <see cref="Status"/> other than <see cref="StoreStatus.Ok"/> refuses the whole transaction (a table is gone).
/// </summary>
public sealed class TransactionResult(bool committed, TransactionOutcome[] outcomes, Exception?[] errors, IndexKeyProblem[] problems, Task durable)
{
    public bool Committed { get; } = committed;

    public TransactionOutcome[] Outcomes { get; } = outcomes;

    /// <summary>For <see cref="TransactionOutcome.Invalid"/> actions: what the mutation raised (null when the store refused an index key, see <see cref="Problems"/>).</summary>
    public Exception?[] Errors { get; } = errors;

    /// <summary>For <see cref="TransactionOutcome.Invalid"/> actions the store refused: the index key at fault.</summary>
    public IndexKeyProblem[] Problems { get; } = problems;

    public StoreStatus Status { get; private init; }

    public Task Durable { get; } = durable;

    internal static TransactionResult Refused(StoreStatus status) => new(false, [], [], [], Task.CompletedTask) { Status = status };
}

/// <summary>The changes a transaction's actions make, with their tables and index images, in action order.</summary>
public sealed class TransactionChanges(int capacity)
{
    internal List<TransactionChange> Changes { get; } = new(capacity);

    internal List<TableState> Tables { get; } = new(capacity);

    internal List<IndexedImages?> Images { get; } = new(capacity);

    public int Count => Changes.Count;

    internal void Add(TableState table, TransactionChange change, IndexedImages? images)
    {
        Changes.Add(change);
        Tables.Add(table);
        Images.Add(images);
    }
}

/// <summary>
/// Transactions (docs/transactions.md): several items changed atomically, isolated from each other and from
/// single-item writes, and logged as one change-log record.
/// </summary>
public sealed partial class ItemWriter
{
    private readonly TransactionTokens _tokens = new();

    // Keys of committed transactions whose record is not yet durable. A transaction marks its keys under their
    // stripe locks and unmarks them once its record is committed; a plain write or another transaction that
    // meets a marked key fails at once (TransactionConflict) instead of waiting.
    private readonly ConcurrentDictionary<byte[], byte> _held = new(ByteArrayComparer.Instance);
    private readonly int[] _heldPerStripe = new int[KeyLocks.DefaultStripes];

    /// <summary>How many keys in-flight transactions hold right now (tests and diagnostics).</summary>
    public int HeldKeyCount => _held.Count;

    /// <summary>
    /// Looks up a ClientRequestToken; <see cref="TokenClaim.New"/> reserves it, and the caller must then run the
    /// transaction with it, or call <see cref="ReleaseTransactionToken"/> if it does not commit.
    /// </summary>
    public TokenClaim ClaimTransactionToken(string token, byte[] fingerprint) => _tokens.Claim(token, fingerprint, _db.NowMicros());

    public void ReleaseTransactionToken(string token) => _tokens.Release(token);

    /// <summary>
    /// Runs every action of a transaction under the stripe locks of all its items, taken in ascending stripe order
    /// (so two transactions can never wait on each other in a cycle). All conditions are evaluated on the same
    /// state; if every one holds, each change goes through <see cref="ApplyLocked"/> and the whole transaction is
    /// appended to the change log as one record. Otherwise nothing changes and the outcomes say why.
    /// </summary>
    public TransactionResult WriteTransaction(IReadOnlyList<TransactionItem> items, string? token = null, byte[]? fingerprint = null)
    {
        var n = items.Count;
        var keys = new byte[n][];
        for (var i = 0; i < n; i++) keys[i] = items[i].Key;
        var order = LockOrder(keys, out var stripes);
        var outcomes = new TransactionOutcome[n];
        var errors = new Exception?[n];
        var problems = new IndexKeyProblem[n];
        var changes = new TransactionChanges(n);
        var taken = 0;
        try
        {
            for (; taken < order.Length; taken++) Monitor.Enter(_locks[order[taken]]);
            if (AnyTableDeleting(items)) return TransactionResult.Refused(StoreStatus.TableNotFound);
            if (!EvaluateLocked(items, stripes, outcomes, errors, problems, changes))
                return new TransactionResult(false, outcomes, errors, problems, Task.CompletedTask);

            var committed = CommitLocked(changes, token, fingerprint);
            if (committed.IsCompleted) return new TransactionResult(true, outcomes, errors, problems, committed);
            HoldAll(keys, stripes);
            return new TransactionResult(true, outcomes, errors, problems, ReleaseWhenDurableAsync(committed, keys, stripes));
        }
        finally
        {
            for (var k = taken - 1; k >= 0; k--) Monitor.Exit(_locks[order[k]]);
        }
    }

    /// <summary>Whether any action's table is being deleted (the caller holds the actions' stripe locks).</summary>
    internal static bool AnyTableDeleting(IReadOnlyList<TransactionItem> items)
    {
        foreach (var item in items)
            if (item.Table.Deleting) return true;
        return false;
    }

    /// <summary>
    /// The distinct stripes of <paramref name="keys"/> in ascending order (the order they are locked in), with each
    /// key's stripe; items on disk are brought into memory first, so no read waits for the disk under the locks.
    /// </summary>
    internal int[] LockOrder(IReadOnlyList<byte[]> keys, out int[] stripes)
    {
        stripes = new int[keys.Count];
        for (var i = 0; i < keys.Count; i++)
        {
            stripes[i] = _locks.StripeOf(keys[i]);
            _store.Warm(keys[i]);
        }

        return SortedDistinct(stripes);
    }

    internal void EnterLocks(int[] order)
    {
        foreach (var stripe in order) Monitor.Enter(_locks[stripe]);
    }

    internal void ExitLocks(int[] order)
    {
        for (var k = order.Length - 1; k >= 0; k--) Monitor.Exit(_locks[order[k]]);
    }

    /// <summary>
    /// Evaluates every action on the current state, under the caller's stripe locks: a held item conflicts, then each
    /// mutation runs and its change (with index images) is collected in <paramref name="changes"/>. Returns whether
    /// every action holds; otherwise the outcomes say why and nothing may be applied.
    /// </summary>
    internal bool EvaluateLocked(IReadOnlyList<TransactionItem> items, int[] stripes, TransactionOutcome[] outcomes, Exception?[] errors,
        IndexKeyProblem[] problems, TransactionChanges changes)
    {
        var n = items.Count;
        var cancelled = false;
        for (var i = 0; i < n; i++)
        {
            if (!IsHeld(stripes[i], items[i].Key)) continue;
            outcomes[i] = TransactionOutcome.Conflict;
            cancelled = true;
        }

        if (cancelled) return false;

        var (current, next) = ThreadBuffers();
        for (var i = 0; i < n; i++)
        {
            var (table, key, mutation) = items[i];
            current.Clear();
            next.Clear();
            var exists = _store.TryRead(key, current);
            MutationKind kind;
            try
            {
                kind = mutation.Apply(current.WrittenSpan, exists, next);
            }
            catch (Exception e)
            {
                // The caller's mutation refused the item (its validation error): the operation decides what it means.
                outcomes[i] = TransactionOutcome.Invalid;
                errors[i] = e;
                cancelled = true;
                continue;
            }

            switch (kind)
            {
                case MutationKind.ConditionFailed:
                    outcomes[i] = TransactionOutcome.ConditionFailed;
                    cancelled = true;
                    break;
                case MutationKind.Put when !(exists && current.WrittenSpan.SequenceEqual(next.WrittenSpan)):
                case MutationKind.Delete when exists:
                    {
                        var hasNew = kind == MutationKind.Put;
                        // Index key types and the item-collection limit, checked before anything is applied.
                        var status = PrepareIndexes(table, key, exists, current.WrittenSpan, hasNew, hasNew ? next.WrittenSpan : default, out var images, out problems[i]);
                        if (status != StoreStatus.Ok)
                        {
                            outcomes[i] = status == StoreStatus.InvalidIndexKey ? TransactionOutcome.Invalid : TransactionOutcome.CollectionLimit;
                            cancelled = true;
                            break;
                        }

                        changes.Add(table, new TransactionChange(ChangeFlags.None, table.Number, key, exists, exists ? current.WrittenSpan.ToArray() : default,
                            hasNew, hasNew ? next.WrittenSpan.ToArray() : default), images);
                        break;
                    }
            }
        }

        return !cancelled;
    }

    /// <summary>
    /// Applies evaluated changes (the caller holds their stripe locks) and appends them, with the token if any, to
    /// the change log as one transaction record. Returns the task that completes when the record is durable.
    /// </summary>
    internal Task CommitLocked(TransactionChanges changes, string? token, byte[]? fingerprint)
    {
        for (var c = 0; c < changes.Count; c++)
        {
            var change = changes.Changes[c];
            ApplyLocked(changes.Tables[c], change.Key.Span, change.HasOld, change.Old.Span, change.HasNew, change.New.Span, changes.Images[c]);
        }

        var committed = Task.CompletedTask;
        if (Log is { } log && (changes.Count > 0 || token != null))
        {
            var now = _db.NowMicros();
            // Recorded before the append: a checkpoint whose replay point passes this record then saves the token.
            var entry = token != null ? _tokens.Record(token, fingerprint ?? [], now) : null;
            var ticket = log.AppendTransaction(now, token == null ? default : Encoding.UTF8.GetBytes(token), fingerprint,
                CollectionsMarshal.AsSpan(changes.Changes));
            committed = _db.Durable(ticket);
            foreach (var change in changes.Changes) _db.NoteLocalWrite(change.Table, change.Key.Span, now, ticket.Lsn, !change.HasNew);
            if (entry != null) entry.Committed = committed;
            _db.Checkpoints.MaybeStart();
        }
        else if (token != null)
        {
            _tokens.Record(token, fingerprint ?? [], _db.NowMicros()).Committed = committed;
        }

        return committed;
    }

    /// <summary>
    /// Reads several items as one snapshot: under the stripe locks of all of them (ascending order), so no write
    /// lands between the reads. Returns the stored values (null when absent), or null with <paramref name="conflicts"/>
    /// set when an in-flight transaction holds any of the items.
    /// </summary>
    public byte[]?[]? ReadTransaction(IReadOnlyList<byte[]> keys, out bool[] conflicts)
    {
        var order = LockOrder(keys, out var stripes);
        conflicts = new bool[keys.Count];
        var values = new byte[]?[keys.Count];
        var taken = 0;
        try
        {
            for (; taken < order.Length; taken++) Monitor.Enter(_locks[order[taken]]);
            return ReadLocked(keys, stripes, values, conflicts) ? values : null;
        }
        finally
        {
            for (var k = taken - 1; k >= 0; k--) Monitor.Exit(_locks[order[k]]);
        }
    }

    /// <summary>Reads <paramref name="keys"/> under the caller's stripe locks; false (with the conflicts marked) when any is held.</summary>
    internal bool ReadLocked(IReadOnlyList<byte[]> keys, int[] stripes, byte[]?[] values, bool[] conflicts)
    {
        var conflicted = false;
        for (var i = 0; i < keys.Count; i++)
        {
            if (!IsHeld(stripes[i], keys[i])) continue;
            conflicts[i] = true;
            conflicted = true;
        }

        if (conflicted) return false;
        var (buffer, _) = ThreadBuffers();
        for (var i = 0; i < keys.Count; i++)
        {
            buffer.Clear();
            if (_store.TryRead(keys[i], buffer)) values[i] = buffer.WrittenSpan.ToArray();
        }

        return true;
    }

    /// <summary>Whether an in-flight transaction holds the key (writers ask under its stripe lock: a held key conflicts).</summary>
    internal bool IsHeld(int stripe, ReadOnlySpan<byte> key) => Volatile.Read(ref _heldPerStripe[stripe]) != 0 && _held.ContainsKey(key.ToArray());

    /// <summary>Marks the keys held (the caller holds their stripe locks): writers and transactional reads of them conflict.</summary>
    internal void HoldAll(byte[][] keys, int[] stripes)
    {
        for (var i = 0; i < keys.Length; i++)
        {
            _held[keys[i]] = 0;
            Interlocked.Increment(ref _heldPerStripe[stripes[i]]);
        }
    }

    internal void ReleaseAll(byte[][] keys, int[] stripes)
    {
        for (var i = 0; i < keys.Length; i++)
        {
            // Remove before decrementing: a reader that sees the count still set then finds the key gone.
            _held.TryRemove(keys[i], out _);
            Interlocked.Decrement(ref _heldPerStripe[stripes[i]]);
        }
    }

    private async Task ReleaseWhenDurableAsync(Task committed, byte[][] keys, int[] stripes)
    {
        try
        {
            await committed.ConfigureAwait(false);
        }
        finally
        {
            ReleaseAll(keys, stripes);
        }
    }

    private static int[] SortedDistinct(int[] stripes)
    {
        var order = (int[])stripes.Clone();
        Array.Sort(order);
        var count = 0;
        for (var i = 0; i < order.Length; i++)
            if (count == 0 || order[count - 1] != order[i]) order[count++] = order[i];
        return order[..count];
    }

    internal void ReplayTransaction(in ChangeRecord record)
    {
        var items = record.EnumerateTransactionItems();
        while (items.MoveNext())
        {
            var item = items.Current;
            if (_db.Catalog.Find(item.TableNumber) is not { } table) continue;
            if (_db.ReplayMaintainsIndexes) ReplayApply(table, item.Key, item.HasOldImage, item.OldImage, item.HasNewImage, item.NewImage);
            else if (item.HasNewImage) _store.Upsert(item.Key, item.NewImage);
            else _store.Delete(item.Key);
        }

        if (!record.TransactionToken.IsEmpty)
            _tokens.Restore(Encoding.UTF8.GetString(record.TransactionToken), record.TransactionFingerprint.ToArray(), record.TimestampMicros, _db.NowMicros());
    }

    private static string TokenFilePath(string root) => Path.Combine(root, TransactionTokens.FileName);

    internal void LoadTransactionTokens(string root) => _tokens.Load(TokenFilePath(root), _db.Cipher, _db.NowMicros());

    internal void SaveTransactionTokens(string root) => _tokens.Save(TokenFilePath(root), _db.Cipher, _db.NowMicros());
}
