using System.Buffers.Binary;
using Serverless.Engine.Security.Encryption;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Partitioning.Transactions;

/// <summary>
/// Two-phase commit of TransactWriteItems, TransactGetItems and ExecuteTransaction across the partitions of the
/// in-process partitioned store (docs/scale-out.md, "Transactions"). Prepare takes the stripe locks of every item
/// in every partition (ascending partition, then stripe, so no two transactions wait in a cycle), evaluates every
/// action on one state exactly as a single partition does, and marks the keys held. The commit record, written
/// to <c>{DataDirectory}/twopc</c>, is the commit point. Phase two applies each partition's part as one record of
/// its change log, the token with partition 0's; once all are durable the record is deleted and the keys released.
/// At start, a record left behind is rolled forward; a transaction without one never committed and left nothing.
/// </summary>
internal sealed class CrossPartitionTransactions : ITransactionCoordinator
{
    private const string RecordExtension = ".commit";

    // For crash tests only (FaultHook): a SIGKILL after a prepare, before its commit record / before phase two; an
    // I/O error at the start of phase two.
    private static readonly FaultHook s_killBeforeRecord = new("SERVERLESS_TEST_KILL_BEFORE_COMMIT_RECORD");
    private static readonly FaultHook s_killBeforePhaseTwo = new("SERVERLESS_TEST_KILL_BEFORE_PHASE_TWO");
    private static readonly FaultHook s_failPhaseTwo = new("SERVERLESS_TEST_FAIL_PHASE_TWO");

    private readonly DynamoEngine[] _engines;
    private readonly string? _records;

    /// <param name="records">The commit records' directory; null for a store in memory (nothing survives a restart anyway).</param>
    public CrossPartitionTransactions(DynamoEngine[] engines, string? records)
    {
        _engines = engines;
        _records = records;
        if (records != null) Directory.CreateDirectory(records);
    }

    private int PartitionOf(byte[] key) => PartitionMap.PartitionOf(BinaryPrimitives.ReadUInt32BigEndian(key.AsSpan(4)), _engines.Length);

    /// <summary>One partition's share of a transaction: its actions (with that partition's tables), keys and locks.</summary>
    private sealed class Part(int partition, ItemWriter writer)
    {
        public int Partition { get; } = partition;

        public ItemWriter Writer { get; } = writer;

        public List<int> Positions { get; } = [];

        public List<TransactionItem> Items { get; } = [];

        public List<byte[]> Keys { get; } = [];

        public int[] Stripes = [];

        public int[] Order = [];

        public TransactionChanges Changes = new(0);
    }

    /// <summary>Splits the keys by partition, in ascending partition order; null when they all live in partition 0.</summary>
    private List<Part>? Split(IReadOnlyList<byte[]> keys)
    {
        Part?[]? parts = null;
        for (var i = 0; i < keys.Count; i++)
        {
            var p = PartitionOf(keys[i]);
            if (p == 0 && parts == null) continue;
            if (parts == null)
            {
                parts = new Part?[_engines.Length];
                for (var j = 0; j < i; j++) Add(parts, 0, j, keys[j]);
            }

            Add(parts, p, i, keys[i]);
        }

        if (parts == null) return null;
        var list = new List<Part>();
        foreach (var part in parts)
        {
            if (part == null) continue;
            part.Order = part.Writer.LockOrder(part.Keys, out part.Stripes);
            list.Add(part);
        }

        return list;
    }

    private void Add(Part?[] parts, int p, int position, byte[] key)
    {
        var part = parts[p] ??= new Part(p, _engines[p].Database.Items);
        part.Positions.Add(position);
        part.Keys.Add(key);
    }

    private static int EnterAll(List<Part> parts)
    {
        var entered = 0;
        for (; entered < parts.Count; entered++) parts[entered].Writer.EnterLocks(parts[entered].Order);
        return entered;
    }

    private static void ExitAll(List<Part> parts, int entered)
    {
        for (var k = entered - 1; k >= 0; k--) parts[k].Writer.ExitLocks(parts[k].Order);
    }

    public TransactionResult? TryWrite(IReadOnlyList<TransactionItem> items, string? token, byte[]? fingerprint)
    {
        var keys = new byte[items.Count][];
        for (var i = 0; i < keys.Length; i++) keys[i] = items[i].Key;
        if (Split(keys) is not { } parts) return null;
        foreach (var part in parts)
        {
            foreach (var position in part.Positions)
            {
                var item = items[position];
                // The partitions share one catalog; each has its own state of every table.
                if (_engines[part.Partition].Database.Catalog.Find(item.Table.Number) is not { } table) return TransactionResult.Refused(StoreStatus.TableNotFound);
                part.Items.Add(item with { Table = table });
            }
        }

        var n = items.Count;
        var outcomes = new TransactionOutcome[n];
        var errors = new Exception?[n];
        var problems = new IndexKeyProblem[n];
        var entered = 0;
        try
        {
            entered = EnterAll(parts);
            foreach (var part in parts)
                if (ItemWriter.AnyTableDeleting(part.Items)) return TransactionResult.Refused(StoreStatus.TableNotFound);

            // Conflicts first, over every partition, as one partition reports them: then no condition is evaluated.
            var conflicted = false;
            foreach (var part in parts)
            {
                for (var j = 0; j < part.Keys.Count; j++)
                {
                    if (!part.Writer.IsHeld(part.Stripes[j], part.Keys[j])) continue;
                    outcomes[part.Positions[j]] = TransactionOutcome.Conflict;
                    conflicted = true;
                }
            }

            if (conflicted) return new TransactionResult(false, outcomes, errors, problems, Task.CompletedTask);

            var holds = true;
            foreach (var part in parts)
            {
                var m = part.Items.Count;
                var o = new TransactionOutcome[m];
                var e = new Exception?[m];
                var q = new IndexKeyProblem[m];
                part.Changes = new TransactionChanges(m);
                holds &= part.Writer.EvaluateLocked(part.Items, part.Stripes, o, e, q, part.Changes);
                for (var j = 0; j < m; j++)
                {
                    outcomes[part.Positions[j]] = o[j];
                    errors[part.Positions[j]] = e[j];
                    problems[part.Positions[j]] = q[j];
                }
            }

            if (!holds) return new TransactionResult(false, outcomes, errors, problems, Task.CompletedTask);
            foreach (var part in parts) part.Writer.HoldAll([.. part.Keys], part.Stripes);
        }
        finally
        {
            ExitAll(parts, entered);
        }

        return new TransactionResult(true, outcomes, errors, problems, CommitAsync(parts, token, fingerprint));
    }

    /// <summary>
    /// The commit record (the commit point), phase two on every partition, then the record's deletion and the keys'
    /// release. If anything fails once the record is written, the transaction has committed but is not yet fully
    /// applied: its keys stay held until the next start, whose recovery rolls it forward from the record. Releasing
    /// them would let a later write to one of them be overwritten by that roll-forward.
    /// </summary>
    private async Task CommitAsync(List<Part> parts, string? token, byte[]? fingerprint)
    {
        var release = true;
        string? record = null;
        try
        {
            s_killBeforeRecord.KillIfArmed();
            if (_records != null)
            {
                var redo = new List<(int, IReadOnlyList<RedoChange>)>(parts.Count);
                foreach (var part in parts) redo.Add((part.Partition, Redo(part.Changes)));
                var path = Path.Combine(_records, Guid.NewGuid().ToString("N") + RecordExtension);
                await WriteDurablyAsync(path, SealedFile.Seal(_engines[0].Database.Cipher, SealedKind.CommitRecord, new CommitRecord(token, fingerprint, redo).Encode()))
                    .ConfigureAwait(false);
                record = path;
            }

            s_killBeforePhaseTwo.KillIfArmed();
            s_failPhaseTwo.FailIfArmed();
            var applied = new List<Task>(parts.Count + 1);
            // The token goes with partition 0's part (the coordinator's, where the operation claimed it).
            if (token != null && parts[0].Partition != 0) applied.Add(_engines[0].Database.Items.ApplyPrepared(new TransactionChanges(0), token, fingerprint));
            foreach (var part in parts) applied.Add(part.Writer.ApplyPrepared(part.Changes, part.Partition == 0 ? token : null, fingerprint));
            await Task.WhenAll(applied).ConfigureAwait(false);
            if (record != null)
            {
                // The deletion must be on the disk before the keys are released, or a crash could bring the record back.
                File.Delete(record);
                DirectorySync.Flush(_records!);
            }
        }
        catch when (record != null)
        {
            release = false;
            throw;
        }
        finally
        {
            if (release)
                foreach (var part in parts) part.Writer.ReleaseAll([.. part.Keys], part.Stripes);
        }
    }

    private static List<RedoChange> Redo(TransactionChanges changes)
    {
        var redo = new List<RedoChange>(changes.Count);
        foreach (var change in changes.Changes) redo.Add(new RedoChange(change.Table, change.Key.ToArray(), change.HasNew, change.HasNew ? change.New.ToArray() : []));
        return redo;
    }

    /// <summary>Written beside, flushed to the disk, then renamed into place: the record exists whole or not at all.</summary>
    private static async Task WriteDurablyAsync(string path, byte[] bytes)
    {
        var temp = path + ".tmp";
        await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096, FileOptions.Asynchronous))
        {
            await file.WriteAsync(bytes).ConfigureAwait(false);
            file.Flush(flushToDisk: true);
        }

        File.Move(temp, path);
        DirectorySync.Flush(Path.GetDirectoryName(path)!);
    }

    public bool TryRead(IReadOnlyList<byte[]> keys, out byte[]?[]? values, out bool[] conflicts)
    {
        conflicts = new bool[keys.Count];
        values = null;
        if (Split(keys) is not { } parts) return false;
        var read = new byte[]?[keys.Count];
        var consistent = true;
        var entered = 0;
        try
        {
            entered = EnterAll(parts);
            foreach (var part in parts)
            {
                var v = new byte[]?[part.Keys.Count];
                var c = new bool[part.Keys.Count];
                consistent &= part.Writer.ReadLocked(part.Keys, part.Stripes, v, c);
                for (var j = 0; j < v.Length; j++)
                {
                    read[part.Positions[j]] = v[j];
                    conflicts[part.Positions[j]] = c[j];
                }
            }
        }
        finally
        {
            ExitAll(parts, entered);
        }

        if (consistent) values = read;
        return true;
    }

    /// <summary>
    /// At start, before any request: rolls forward every transaction whose commit record is there (some of its
    /// partitions may have applied their part already; those items are left alone), then deletes the record. A
    /// record never renamed into place (<c>.tmp</c>) belongs to a transaction that never committed.
    /// </summary>
    public async Task RecoverAsync()
    {
        if (_records == null) return;
        foreach (var temp in Directory.EnumerateFiles(_records, "*" + RecordExtension + ".tmp")) File.Delete(temp);
        var rolled = false;
        foreach (var path in Directory.EnumerateFiles(_records, "*" + RecordExtension))
        {
            rolled = true;
            var record = CommitRecord.Decode(SealedFile.Open(await File.ReadAllBytesAsync(path).ConfigureAwait(false), _engines[0].Database.Cipher, SealedKind.CommitRecord, path));
            var applied = new List<Task>(record.Parts.Count + 1);
            if (record.Token != null && (record.Parts.Count == 0 || record.Parts[0].Partition != 0))
                applied.Add(_engines[0].Database.Items.RollForward([], record.Token, record.Fingerprint));
            foreach (var (partition, changes) in record.Parts)
                applied.Add(_engines[partition].Database.Items.RollForward(changes, partition == 0 ? record.Token : null, record.Fingerprint));
            await Task.WhenAll(applied).ConfigureAwait(false);
            File.Delete(path);
        }

        // As in CommitAsync: no write may reach these keys before the records' deletion is on the disk.
        if (rolled) DirectorySync.Flush(_records);
    }
}
