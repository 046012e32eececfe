using Serverless.Engine.Model;

namespace Serverless.Engine.Storage;

/// <summary>
/// A secondary index at run time: its definition and its entries, kept in the same ordered-key structure as the
/// table so Query, Scan, paging and parallel scan read both the same way.
/// <para>
/// Entry key: <c>KeyCodec.EncodeKey(indexNumber, indexHash, indexRange)</c> followed by the item's storage key. The
/// index key part sorts entries as DynamoDB orders the index; the storage key suffix makes entries unique and
/// leads back to the item. Entries are checkpointed with the store (src/Engine/Storage/Index) and maintained by replay.
/// </para>
/// </summary>
public sealed class SecondaryIndex(IndexDefinition definition)
{
    private IndexDefinition _definition = definition;
    private long _itemCount;
    private long _sizeBytes;

    public IndexDefinition Definition => Volatile.Read(ref _definition);

    /// <summary>
    /// Capacity consumed on this index since the engine opened: reads of a global index and the writes its
    /// maintenance costs (local indexes share the table's capacity, so their meter stays at zero). Auto scaling's
    /// index targets read it.
    /// </summary>
    public CapacityMeter Consumed { get; } = new();

    private Capacity.ThroughputState? _throughput;

    /// <summary>A global index's token buckets and capacity metrics (src/Engine/Capacity).</summary>
    public Capacity.ThroughputState Throughput =>
        Volatile.Read(ref _throughput) ?? Interlocked.CompareExchange(ref _throughput, new Capacity.ThroughputState(Consumed, isIndex: true), null) ?? _throughput!;

    /// <summary>Meters and charges the write units one item change cost a global index (never for system work).</summary>
    internal void ChargeWrite(double units, TimeProvider time)
    {
        if (!Definition.Global) return;
        Consumed.Add(units, isRead: false);
        var now = time.GetUtcNow().UtcTicks;
        Throughput.Bucket(false)?.Take(now, (long)Math.Round(units * 1000));
    }

    public uint Number => _definition.Number;

    public OrderedKeyIndex Entries { get; internal set; } = new();

    /// <summary>Whether the entries cover every item: false from the index's creation on an existing table until its backfill ends.</summary>
    internal bool Complete { get => Volatile.Read(ref _complete); set => Volatile.Write(ref _complete, value); }

    private bool _complete = true;

    /// <summary>Start-up: the statistics persisted with the checkpoint.</summary>
    internal void Restore(long itemCount, long sizeBytes)
    {
        Interlocked.Exchange(ref _itemCount, itemCount);
        Interlocked.Exchange(ref _sizeBytes, sizeBytes);
    }

    public long ItemCount => Interlocked.Read(ref _itemCount);

    public long SizeBytes => Interlocked.Read(ref _sizeBytes);

    internal void Replace(IndexDefinition definition) => Volatile.Write(ref _definition, definition);

    /// <summary>
    /// The entry key of <paramref name="item"/> (stored under <paramref name="storageKey"/>), or null when the item
    /// is not in the index: it lacks an index key attribute or holds one with another type (a sparse index).
    /// </summary>
    public byte[]? EntryFor(IReadOnlyDictionary<string, AttrValue>? item, ReadOnlySpan<byte> storageKey)
    {
        var d = Definition;
        if (d.MultiAttribute) return MultiAttributeEntryFor(d, item, storageKey);
        if (!TryGetKeys(item, out var hash, out var range)) return null;

        var length = KeyCodec.KeyLength(hash, range);
        var entry = new byte[length + storageKey.Length];
        KeyCodec.EncodeKey(d.Number, hash, range, entry);
        storageKey.CopyTo(entry.AsSpan(length));
        return entry;
    }

    // The layout is described in MultiAttributeKey.cs.
    private static byte[]? MultiAttributeEntryFor(IndexDefinition d, IReadOnlyDictionary<string, AttrValue>? item, ReadOnlySpan<byte> storageKey)
    {
        if (item == null) return null;
        var hashKeys = d.HashKeys;
        var rangeKeys = d.RangeKeys;
        var hashValues = new AttrValue[hashKeys.Length];
        for (var i = 0; i < hashKeys.Length; i++)
        {
            if (!TryGet(item, hashKeys[i], out hashValues[i])) return null;
        }

        var rangeValues = new AttrValue[rangeKeys.Length];
        for (var i = 0; i < rangeKeys.Length; i++)
        {
            if (!TryGet(item, rangeKeys[i], out rangeValues[i])) return null;
        }

        var partition = MultiAttributeKey.Partition(hashValues);
        var length = KeyCodec.HeaderLength + KeyCodec.ComponentLength(partition);
        foreach (var r in rangeValues) length += KeyCodec.ComponentLength(r);
        var entry = new byte[length + storageKey.Length];
        var pos = KeyCodec.EncodePartitionPrefix(d.Number, partition, entry);
        foreach (var r in rangeValues) pos += KeyCodec.EncodeComponent(r, entry.AsSpan(pos));
        storageKey.CopyTo(entry.AsSpan(pos));
        return entry;
    }

    private static bool TryGet(IReadOnlyDictionary<string, AttrValue> item, KeyAttribute key, out AttrValue value) =>
        item.TryGetValue(key.Name, out value!) && AttrTypeNames.Name(value.Type) == key.Type;

    /// <summary>
    /// Checks an item's index key attributes, where present: false, with the <paramref name="problem"/>, when one has
    /// the wrong type or is empty (a write that would store it is a ValidationException on AWS).
    /// </summary>
    public bool CheckKeys(IReadOnlyDictionary<string, AttrValue> item, out IndexKeyProblem problem)
    {
        var d = Definition;
        problem = default;
        if (d.MultiAttribute)
        {
            foreach (var k in d.HashKeys)
            {
                if (!Check(k, out problem)) return false;
            }

            foreach (var k in d.RangeKeys)
            {
                if (!Check(k, out problem)) return false;
            }

            return true;
        }

        return Check(d.HashKey, out problem) && (d.RangeKey == null || Check(d.RangeKey, out problem));

        bool Check(KeyAttribute key, out IndexKeyProblem problem)
        {
            problem = default;
            if (!item.TryGetValue(key.Name, out var value)) return true;
            var actual = AttrTypeNames.Name(value.Type);
            if (actual != key.Type) problem = new IndexKeyProblem(d.Name, key.Name, key.Type, actual, null);
            else if (value.Type == AttrType.S && value.S.Length == 0) problem = new IndexKeyProblem(d.Name, key.Name, key.Type, actual, "string");
            else if (value.Type == AttrType.B && value.B.Length == 0) problem = new IndexKeyProblem(d.Name, key.Name, key.Type, actual, "binary");
            else if (value.Type != AttrType.N && TooLarge(key, value) is { } max)
                problem = new IndexKeyProblem(d.Name, key.Name, key.Type, actual, null, ItemSize.OfKeyValue(value), max);
            else return true;
            return false;
        }

        // DynamoDB's key limits hold for index keys too: 2048 bytes for a partition key, 1024 for a sort key.
        int? TooLarge(KeyAttribute key, AttrValue value)
        {
            var max = Array.IndexOf(d.HashKeys, key) >= 0 ? ItemSize.MaxPartitionKeyBytes : ItemSize.MaxSortKeyBytes;
            return ItemSize.OfKeyValue(value) > max ? max : null;
        }
    }

    /// <summary>Whether <paramref name="item"/> has the index key attributes, with their declared types (is in the index).</summary>
    public bool Contains(IReadOnlyDictionary<string, AttrValue>? item)
    {
        var d = Definition;
        if (!d.MultiAttribute) return TryGetKeys(item, out _, out _);
        if (item == null) return false;
        foreach (var k in d.HashKeys)
        {
            if (!TryGet(item, k, out _)) return false;
        }

        foreach (var k in d.RangeKeys)
        {
            if (!TryGet(item, k, out _)) return false;
        }

        return true;
    }

    private bool TryGetKeys(IReadOnlyDictionary<string, AttrValue>? item, out AttrValue hash, out AttrValue? range)
    {
        hash = null!;
        range = null;
        if (item == null) return false;
        var d = Definition;
        if (!item.TryGetValue(d.HashKey.Name, out hash!) || AttrTypeNames.Name(hash.Type) != d.HashKey.Type) return false;
        if (d.RangeKey == null) return true;
        if (!item.TryGetValue(d.RangeKey.Name, out var r) || AttrTypeNames.Name(r.Type) != d.RangeKey.Type) return false;
        range = r;
        return true;
    }

    /// <summary>The storage key of the item an entry points to.</summary>
    public ReadOnlySpan<byte> StorageKeyOf(ReadOnlySpan<byte> entry)
    {
        var pos = KeyCodec.HeaderLength;
        KeyCodec.SkipComponent(entry, ref pos);
        var sortComponents = Definition.RangeKeys.Length;
        for (var i = 0; i < sortComponents; i++) KeyCodec.SkipComponent(entry, ref pos);
        return entry[pos..];
    }

    /// <summary>The attributes of <paramref name="item"/> the index holds: table keys, index keys and projected ones.</summary>
    public IReadOnlyDictionary<string, AttrValue> Project(IReadOnlyDictionary<string, AttrValue> item, TableDefinition table)
    {
        var d = Definition;
        if (d.ProjectionType == "ALL") return item;
        var result = new Dictionary<string, AttrValue>(StringComparer.Ordinal);
        void Copy(string? name)
        {
            if (name != null && item.TryGetValue(name, out var v)) result[name] = v;
        }

        Copy(table.HashKey.Name);
        Copy(table.RangeKey?.Name);
        foreach (var k in d.HashKeys) Copy(k.Name);
        foreach (var k in d.RangeKeys) Copy(k.Name);
        if (d.NonKeyAttributes != null)
        {
            foreach (var n in d.NonKeyAttributes) Copy(n);
        }

        return result;
    }

    /// <summary>Size of the index's copy of an item (its projected attributes), by DynamoDB's item-size rule.</summary>
    public int EntrySize(IReadOnlyDictionary<string, AttrValue> item, TableDefinition table) => ItemSize.Of(Project(item, table));

    /// <summary>
    /// Applies one item's change to the index: the caller holds the item's stripe lock. Returns the write units the
    /// change costs the index, by DynamoDB's rules: a new or removed entry one write of its size, a moved entry (its
    /// index key changed) two, an entry whose projected attributes changed one of the larger size, an unchanged
    /// entry none.
    /// </summary>
    internal double Apply(
        TableDefinition table, ReadOnlySpan<byte> storageKey,
        IReadOnlyDictionary<string, AttrValue>? oldItem, IReadOnlyDictionary<string, AttrValue>? newItem)
    {
        var oldEntry = EntryFor(oldItem, storageKey);
        var newEntry = EntryFor(newItem, storageKey);
        if (oldEntry == null && newEntry == null) return 0;
        var oldSize = oldEntry != null ? EntrySize(oldItem!, table) : 0;
        var newSize = newEntry != null ? EntrySize(newItem!, table) : 0;
        var same = oldEntry != null && newEntry != null && oldEntry.AsSpan().SequenceEqual(newEntry);
        if (same)
        {
            // The entry stays where it is (its index key did not change): no removal and re-insertion, which for a
            // key kept in a run would leave a tombstone. (Add finds it present, except when replay runs ahead of a
            // backfill.)
            if (Entries.Add(newEntry!))
            {
                Interlocked.Increment(ref _itemCount);
                Interlocked.Add(ref _sizeBytes, newSize);
            }
            else
            {
                Interlocked.Add(ref _sizeBytes, newSize - oldSize);
            }
        }
        else
        {
            if (oldEntry != null && Entries.Remove(oldEntry))
            {
                Interlocked.Decrement(ref _itemCount);
                Interlocked.Add(ref _sizeBytes, -oldSize);
            }

            if (newEntry != null && Entries.Add(newEntry))
            {
                Interlocked.Increment(ref _itemCount);
                Interlocked.Add(ref _sizeBytes, newSize);
            }
        }

        if (oldEntry == null) return WriteUnits(newSize);
        if (newEntry == null) return WriteUnits(oldSize);
        if (!oldEntry.AsSpan().SequenceEqual(newEntry)) return WriteUnits(oldSize) + WriteUnits(newSize);
        return SameProjection(oldItem!, newItem!, table) ? 0 : WriteUnits(Math.Max(oldSize, newSize));
    }

    private static double WriteUnits(long bytes) => Math.Max(1, (bytes + 1023) / 1024);

    private bool SameProjection(IReadOnlyDictionary<string, AttrValue> oldItem, IReadOnlyDictionary<string, AttrValue> newItem, TableDefinition table)
    {
        var a = Project(oldItem, table);
        var b = Project(newItem, table);
        if (a.Count != b.Count) return false;
        foreach (var (name, value) in a)
        {
            if (!b.TryGetValue(name, out var other) || !value.Equals(other)) return false;
        }

        return true;
    }

    /// <summary>Adds an item during a backfill or a rebuild; a no-op when a concurrent write already indexed it.</summary>
    internal void Add(TableDefinition table, ReadOnlySpan<byte> storageKey, IReadOnlyDictionary<string, AttrValue> item) =>
        _ = Apply(table, storageKey, null, item);
}

/// <summary>
/// Sizes of a table's item collections: for each partition key, the sizes of its items plus their entries in the
/// table's local secondary indexes. DynamoDB limits a collection to 10 GB when the table has local indexes and
/// reports the size as ItemCollectionMetrics.
/// </summary>
public sealed class ItemCollections
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<byte[], long> _sizes = new(ByteArrayComparer.Instance);

    /// <summary>The collection's key: the storage key up to and including the partition key component.</summary>
    public static ReadOnlySpan<byte> PartitionOf(ReadOnlySpan<byte> storageKey)
    {
        var pos = KeyCodec.HeaderLength;
        KeyCodec.SkipComponent(storageKey, ref pos);
        return storageKey[..pos];
    }

    /// <summary>A copy of every collection's size, for a checkpoint.</summary>
    internal List<KeyValuePair<byte[], long>> Snapshot() => [.. _sizes];

    public long SizeOf(ReadOnlySpan<byte> storageKey) =>
        _sizes.TryGetValue(PartitionOf(storageKey).ToArray(), out var size) ? size : 0;

    internal long Add(ReadOnlySpan<byte> storageKey, long delta)
    {
        if (delta == 0) return SizeOf(storageKey);
        var partition = PartitionOf(storageKey).ToArray();
        var size = _sizes.AddOrUpdate(partition, delta, (_, s) => s + delta);
        if (size <= 0) _sizes.TryRemove(new KeyValuePair<byte[], long>(partition, size));
        return size;
    }
}
