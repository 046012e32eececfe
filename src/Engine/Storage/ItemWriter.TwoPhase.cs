namespace Serverless.Engine.Storage;

/// <summary>One item's change as a cross-partition commit record keeps it: the new image (none: delete).</summary>
public readonly record struct RedoChange(uint Table, byte[] Key, bool HasNew, byte[] New);

/// <summary>
/// The participant's side of the two-phase commit of a transaction spanning partitions
/// (Partitioning/Transactions, docs/scale-out.md): phase two's apply and recovery's roll-forward.
/// </summary>
public sealed partial class ItemWriter
{
    /// <summary>
    /// Phase two: applies a prepared partition's changes (its keys are held since the prepare, so they are as the
    /// prepare saw them) as one change-log record, with the token if this partition is the coordinator.
    /// </summary>
    internal Task ApplyPrepared(TransactionChanges changes, string? token, byte[]? fingerprint)
    {
        var keys = new byte[changes.Count][];
        for (var c = 0; c < keys.Length; c++) keys[c] = changes.Changes[c].Key.ToArray();
        var order = LockOrder(keys, out _);
        EnterLocks(order);
        try
        {
            return CommitLocked(changes, token, fingerprint);
        }
        finally
        {
            ExitLocks(order);
        }
    }

    /// <summary>
    /// Recovery: brings this partition's items to a committed transaction's new images. An item already there
    /// (phase two reached it before the crash) is left alone, so rolling forward twice applies nothing twice.
    /// </summary>
    internal Task RollForward(IReadOnlyList<RedoChange> redo, string? token, byte[]? fingerprint)
    {
        var keys = new byte[redo.Count][];
        for (var i = 0; i < keys.Length; i++) keys[i] = redo[i].Key;
        var order = LockOrder(keys, out _);
        EnterLocks(order);
        try
        {
            var changes = new TransactionChanges(redo.Count);
            var (current, _) = ThreadBuffers();
            foreach (var (number, key, hasNew, image) in redo)
            {
                if (_db.Catalog.Find(number) is not { } table) continue;
                current.Clear();
                var exists = _store.TryRead(key, current);
                if (hasNew ? exists && current.WrittenSpan.SequenceEqual(image) : !exists) continue;
                var status = PrepareIndexes(table, key, exists, current.WrittenSpan, hasNew, image, out var images, out _);
                changes.Add(table, new TransactionChange(ChangeFlags.None, number, key, exists, exists ? current.WrittenSpan.ToArray() : default,
                    hasNew, hasNew ? image : default), status == StoreStatus.Ok ? images : null);
            }

            return CommitLocked(changes, token, fingerprint);
        }
        finally
        {
            ExitLocks(order);
        }
    }
}
