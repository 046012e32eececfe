using System.Buffers.Binary;
using Serverless.Engine.Security.Encryption;

namespace Serverless.Engine.Storage.Index;

/// <summary>
/// One ordered index as a checkpoint's manifest lists it (the manifest's optional <c>Indexes</c> member, guarded by a
/// golden test): which index, its run files (newest first), its live-key count, whether it holds every item
/// (a backfill or TTL fill may still have been running), and the statistics persisted with it.
/// </summary>
public sealed class PersistedIndex
{
    public uint Table { get; init; }

    /// <summary>The secondary index's number; null for the table's keys and for its expiry index.</summary>
    public uint? Index { get; init; }

    /// <summary>For the expiry index: the TTL attribute it orders by.</summary>
    public string? Expiry { get; init; }

    /// <summary>False while a backfill (or TTL fill) had not finished: recovery runs it again.</summary>
    public bool Complete { get; init; }

    /// <summary>Live keys.</summary>
    public long Count { get; init; }

    /// <summary>The table's item count and size (for its keys), or the index's (for a secondary index).</summary>
    public long ItemCount { get; init; }

    public long SizeBytes { get; init; }

    /// <summary>Run files under <c>index/</c>, newest first.</summary>
    public List<string> Runs { get; init; } = [];

    /// <summary>For a table with local indexes: the file of its item-collection sizes.</summary>
    public string? Collections { get; init; }

    /// <summary>The names of the files (runs and collection files) <paramref name="entries"/> name.</summary>
    public static HashSet<string> FileNames(IEnumerable<PersistedIndex>? entries)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in entries ?? [])
        {
            foreach (var r in p.Runs) names.Add(r);
            if (p.Collections != null) names.Add(p.Collections);
        }

        return names;
    }
}

/// <summary>
/// Makes the ordered indexes durable with each checkpoint and opens them at start-up (see "The ordered key index"
/// in docs/architecture.md).
/// <list type="number">
/// <item><see cref="Freeze"/> runs while the caller holds every stripe lock and the catalog lock, right where it reads
/// the replay point: every index is then exactly the state after the last logged record. It freezes each memtable
/// and copies the statistics.</item>
/// <item><see cref="WriteAsync"/> writes each frozen memtable as a new run, compacts, and returns the manifest's entries.</item>
/// <item>Once the manifest is durable, <see cref="Retire"/> deletes the runs it no longer names.</item>
/// </list>
/// </summary>
public sealed class IndexCheckpoint(string directory, StoreCipher cipher, BlockCache cache)
{
    /// <summary>Most runs an index keeps before all of them are merged, whatever their sizes.</summary>
    internal const int MaxRuns = 8;

    /// <summary>
    /// For crash tests only: when the environment variable <c>SERVERLESS_TEST_KILL_BEFORE_MANIFEST</c> names a file
    /// that exists, the process kills itself (SIGKILL) once a checkpoint has written its runs and before it writes
    /// the manifest.
    /// </summary>
    internal static void TestHookBeforeManifest() => s_killBeforeManifest.KillIfArmed();

    private static readonly FaultHook s_killBeforeManifest = new("SERVERLESS_TEST_KILL_BEFORE_MANIFEST");

    private readonly Dictionary<string, IndexRun> _open = new(StringComparer.Ordinal);
    private readonly object _lock = new();

    public BlockCache Cache => cache;

    public string Directory => directory;

    /// <summary>A checkpoint's frozen state, from <see cref="Freeze"/> to <see cref="WriteAsync"/>.</summary>
    public sealed class Frozen
    {
        internal readonly List<Item> Items = [];

        internal sealed class Item
        {
            public required uint Table;
            public uint? Index;
            public string? Expiry;
            public required bool Complete;
            public required OrderedKeyIndex Target;
            public MemTable[] Mem = [];
            public required long Count;
            public long ItemCount;
            public long SizeBytes;
            public List<KeyValuePair<byte[], long>>? Collections;
        }
    }

    /// <summary>Freezes every index of <paramref name="tables"/>. The caller holds every stripe lock and the catalog lock.</summary>
    public Frozen Freeze(IEnumerable<TableState> tables)
    {
        var frozen = new Frozen();
        foreach (var table in tables)
        {
            frozen.Items.Add(new Frozen.Item
            {
                Table = table.Number, Complete = true, Target = table.Keys, Mem = table.Keys.Freeze(), Count = table.Keys.Count,
                ItemCount = table.ItemCount, SizeBytes = table.SizeBytes, Collections = table.Collections?.Snapshot(),
            });
            foreach (var index in table.Indexes)
            {
                frozen.Items.Add(new Frozen.Item
                {
                    Table = table.Number, Index = index.Number, Complete = index.Complete, Target = index.Entries, Mem = index.Entries.Freeze(),
                    Count = index.Entries.Count, ItemCount = index.ItemCount, SizeBytes = index.SizeBytes,
                });
            }

            if (table.Expiry is { } expiry)
            {
                frozen.Items.Add(new Frozen.Item
                {
                    Table = table.Number, Expiry = expiry.Attribute, Complete = expiry.Complete, Target = expiry.Entries,
                    Mem = expiry.Entries.Freeze(), Count = expiry.Entries.Count,
                });
            }
        }

        return frozen;
    }

    /// <summary>Writes the frozen memtables as runs, compacts where due, and returns the manifest's entries.</summary>
    public Task<List<PersistedIndex>> WriteAsync(Frozen frozen, CancellationToken cancellationToken = default) => Task.Run(() =>
    {
        System.IO.Directory.CreateDirectory(directory);
        var result = new List<PersistedIndex>(frozen.Items.Count);
        foreach (var item in frozen.Items)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var target = item.Target;
            for (var m = item.Mem.Length - 1; m >= 0; m--)
            {
                // Tombstones hide keys of older runs; with none below there is nothing to hide.
                var run = WriteRun(item.Mem[m], dropTombstones: target.Current.Runs.Length == 0);
                target.Flushed(item.Mem[m], run);
            }

            Compact(target);
            string? collections = null;
            if (item.Collections != null) collections = WriteCollections(item.Collections);
            result.Add(new PersistedIndex
            {
                Table = item.Table, Index = item.Index, Expiry = item.Expiry, Complete = item.Complete, Count = item.Count,
                ItemCount = item.ItemCount, SizeBytes = item.SizeBytes, Runs = [.. target.Current.Runs.Select(r => r.Name)], Collections = collections,
            });
        }

        return result;
    }, cancellationToken);

    private IndexRun? WriteRun(MemTable mem, bool dropTombstones)
    {
        var cursor = new OrderedKeyIndex.MemCursor(mem);
        cursor.Seek([], true, true, fromEnd: true);
        var path = NewPath(".run");
        using (var writer = new IndexRunWriter(path, cipher, mem.Entries))
        {
            for (; cursor.Valid; cursor.Next())
            {
                if (cursor.Dead && dropTombstones) continue;
                writer.Add(cursor.Key, cursor.Dead);
            }

            if (writer.Entries == 0) return null;
            writer.Finish();
        }

        return Register(IndexRun.Open(path, cipher, cache));
    }

    /// <summary>
    /// Size-tiered compaction: the newest runs are merged while the next older run is at most twice their total, so
    /// an index keeps about log2(size / memtable) runs and each key is rewritten that many times; past
    /// <see cref="MaxRuns"/> all are merged. A merge that reaches the oldest run drops tombstones.
    /// </summary>
    internal void Compact(OrderedKeyIndex target)
    {
        var runs = target.Current.Runs;
        if (runs.Length < 2) return;
        var take = 1;
        var total = runs[0].Entries;
        while (take < runs.Length && runs[take].Entries <= 2 * total)
        {
            total += runs[take].Entries;
            take++;
        }

        if (runs.Length > MaxRuns) take = runs.Length;
        if (take < 2) return;
        var merged = Merge(runs[..take], dropTombstones: take == runs.Length);
        IndexRun[] next = merged == null ? [.. runs[take..]] : [merged, .. runs[take..]];
        target.ReplaceRuns(next);
    }

    /// <summary>A streaming k-way merge of <paramref name="runs"/> (newest first) into one run; null when nothing is left.</summary>
    internal IndexRun? Merge(IndexRun[] runs, bool dropTombstones)
    {
        var layers = new OrderedKeyIndex.ILayerCursor[runs.Length];
        long expected = 0;
        for (var i = 0; i < runs.Length; i++)
        {
            layers[i] = new OrderedKeyIndex.RunCursor(runs[i]);
            expected += runs[i].Entries;
        }

        var merge = new OrderedKeyIndex.MergeCursor(layers, [], true, forward: true, fromEnd: true);
        var path = NewPath(".run");
        using (var writer = new IndexRunWriter(path, cipher, expected))
        {
            while (merge.MoveNext(keepTombstones: !dropTombstones)) writer.Add(merge.Key, merge.Dead);
            if (writer.Entries == 0) return null;
            writer.Finish();
        }

        return Register(IndexRun.Open(path, cipher, cache));
    }

    private string NewPath(string extension) => Path.Combine(directory, Guid.NewGuid().ToString("N") + extension);

    private IndexRun Register(IndexRun run)
    {
        lock (_lock) _open[run.Name] = run;
        return run;
    }

    /// <summary>
    /// Deletes the files of runs (and collection files) a durable manifest no longer names. Readers that still hold
    /// such a run keep reading it through its open handle; the handle closes when the run is collected.
    /// </summary>
    public void Retire(IReadOnlyCollection<PersistedIndex> named)
    {
        var keep = PersistedIndex.FileNames(named);
        lock (_lock)
        {
            foreach (var name in _open.Keys.Where(n => !keep.Contains(n)).ToList())
            {
                _open.Remove(name, out var run);
                cache.Forget(run!.Id, run.Blocks);
            }
        }

        DeleteUnnamed(keep);
    }

    private void DeleteUnnamed(HashSet<string> keep)
    {
        if (!System.IO.Directory.Exists(directory)) return;
        foreach (var file in System.IO.Directory.EnumerateFiles(directory))
        {
            if (!keep.Contains(Path.GetFileName(file))) File.Delete(file);
        }
    }

    /// <summary>
    /// Start-up: gives each table of the catalog its persisted indexes and statistics. False when the manifest has
    /// none (written by an older version), or names a file that is not there: then nothing is changed and the caller
    /// rebuilds them from the items.
    /// </summary>
    public bool Attach(IEnumerable<TableState> tables, List<PersistedIndex>? persisted)
    {
        MissingFile = persisted == null ? null : PersistedIndex.FileNames(persisted).FirstOrDefault(f => !File.Exists(Path.Combine(directory, f)));
        if (persisted == null || MissingFile != null)
        {
            DeleteUnnamed([]);
            return false;
        }

        var byTable = persisted.ToLookup(p => p.Table);
        foreach (var table in tables)
        {
            var entries = byTable[table.Number].ToList();
            var keys = entries.Find(p => p.Index == null && p.Expiry == null)
                ?? throw new InvalidDataException($"The manifest lists no key index for table {table.Definition.Name}.");
            table.Keys = Load(keys);
            table.Account(keys.ItemCount, keys.SizeBytes);
            if (keys.Collections != null && table.Collections != null) ReadCollections(keys.Collections, table.Collections);
            foreach (var index in table.Indexes)
            {
                var p = entries.Find(e => e.Index == index.Number);
                if (p == null)
                {
                    index.Complete = false;
                    continue;
                }

                index.Entries = Load(p);
                index.Restore(p.ItemCount, p.SizeBytes);
                index.Complete = p.Complete;
            }

            if (table.Expiry is { } expiry)
            {
                var p = entries.Find(e => e.Expiry == expiry.Attribute);
                if (p == null) expiry.Complete = false;
                else
                {
                    expiry.Entries = Load(p);
                    expiry.Complete = p.Complete;
                }
            }
        }

        Retire(persisted);
        return true;
    }

    /// <summary>The index file whose absence made <see cref="Attach"/> refuse the manifest's indexes, if one did.</summary>
    public string? MissingFile { get; private set; }

    private OrderedKeyIndex Load(PersistedIndex p)
    {
        var runs = new IndexRun[p.Runs.Count];
        for (var i = 0; i < runs.Length; i++) runs[i] = Register(IndexRun.Open(Path.Combine(directory, p.Runs[i]), cipher, cache));
        return new OrderedKeyIndex(runs, p.Count);
    }

    // Item-collection sizes: a sealed file (kind IndexCollections) of varint partitionLength | partition | u64 size (LE).
    private string WriteCollections(List<KeyValuePair<byte[], long>> sizes)
    {
        using var buffer = new MemoryStream();
        Span<byte> head = stackalloc byte[10];
        Span<byte> u64 = stackalloc byte[8];
        foreach (var (partition, size) in sizes)
        {
            buffer.Write(head[..RunVarint.Write(head, (ulong)partition.Length)]);
            buffer.Write(partition);
            BinaryPrimitives.WriteInt64LittleEndian(u64, size);
            buffer.Write(u64);
        }

        var path = NewPath(".col");
        SealedFile.WriteAtomically(path, cipher, SealedKind.IndexCollections, buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
        return Path.GetFileName(path);
    }

    private void ReadCollections(string name, ItemCollections into)
    {
        var data = SealedFile.ReadFile(Path.Combine(directory, name), cipher, SealedKind.IndexCollections);
        var pos = 0;
        while (pos < data.Length)
        {
            var length = (int)RunVarint.Read(data, ref pos);
            var partition = data.AsSpan(pos, length);
            pos += length;
            into.Add(partition, BinaryPrimitives.ReadInt64LittleEndian(data.AsSpan(pos)));
            pos += 8;
        }
    }
}
