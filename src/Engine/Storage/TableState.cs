namespace Serverless.Engine.Storage;

/// <summary>A table as the engine holds it at run time: its definition and its live statistics.</summary>
public sealed class TableState
{
    private TableDefinition _definition;
    private SecondaryIndex[] _indexes;
    private long _itemCount;
    private long _sizeBytes;

    public TableState(TableDefinition definition)
    {
        _definition = definition;
        Throughput = new Capacity.ThroughputState(Consumed, isIndex: false);
        _indexes = definition.Indexes?.Select(i => new SecondaryIndex(i)).ToArray() ?? [];
        if (_indexes.Any(i => !i.Definition.Global)) Collections = new ItemCollections();
        if (definition.TimeToLiveAttribute is { } ttl) _expiry = new ExpiryIndex(ttl);
    }

    private ExpiryIndex? _expiry;

    /// <summary>Items by expiry time while TTL is enabled; replaced (empty) when the TTL attribute changes.</summary>
    public ExpiryIndex? Expiry => Volatile.Read(ref _expiry);

    /// <summary>Capacity consumed by requests on this table since the engine opened (system deletes consume none).</summary>
    public CapacityMeter Consumed { get; } = new();

    /// <summary>The table's token buckets, per-key limits and capacity metrics (src/Engine/Capacity).</summary>
    public Capacity.ThroughputState Throughput { get; }

    /// <summary>Whether writes must decode item images: for secondary indexes or TTL.</summary>
    public bool NeedsImages => Indexes.Length > 0 || Expiry != null;

    public TableDefinition Definition => Volatile.Read(ref _definition);

    /// <summary>The table's secondary indexes, in definition order; replaced as a whole when the definition changes.</summary>
    public SecondaryIndex[] Indexes => Volatile.Read(ref _indexes);

    public SecondaryIndex? FindIndex(string name) => Array.Find(Indexes, i => i.Definition.Name == name);

    /// <summary>Sizes of the item collections (items sharing a partition key), kept for tables with local indexes.</summary>
    public ItemCollections? Collections { get; }

    public uint Number => _definition.TableNumber;

    public bool Deleting { get; internal set; }

    public long ItemCount => Interlocked.Read(ref _itemCount);

    public long SizeBytes => Interlocked.Read(ref _sizeBytes);

    /// <summary>The table's storage keys in order; changed under each key's stripe lock together with the store.</summary>
    public OrderedKeyIndex Keys { get; } = new();

    internal void Replace(TableDefinition definition)
    {
        // Keep the entries of indexes that still exist (matched by number); new indexes start empty.
        var current = Indexes;
        var next = new SecondaryIndex[definition.Indexes?.Count ?? 0];
        for (var i = 0; i < next.Length; i++)
        {
            var d = definition.Indexes![i];
            var existing = Array.Find(current, x => x.Number == d.Number);
            if (existing != null) existing.Replace(d);
            next[i] = existing ?? new SecondaryIndex(d);
        }

        Volatile.Write(ref _definition, definition);
        Volatile.Write(ref _indexes, next);
        if (definition.TimeToLiveAttribute != Expiry?.Attribute)
            Volatile.Write(ref _expiry, definition.TimeToLiveAttribute is { } ttl ? new ExpiryIndex(ttl) : null);
    }

    internal void Account(long items, long bytes)
    {
        if (items != 0) Interlocked.Add(ref _itemCount, items);
        if (bytes != 0) Interlocked.Add(ref _sizeBytes, bytes);
    }
}

/// <summary>Index status names, as DescribeTable reports them.</summary>
public static class IndexStatus
{
    public const string Creating = "CREATING";
    public const string Active = "ACTIVE";
    public const string Deleting = "DELETING";
}

/// <summary>
/// Capacity units consumed on one table, as CloudWatch's ConsumedReadCapacityUnits / ConsumedWriteCapacityUnits sum
/// them: every request adds what it reports (or would report) as ConsumedCapacity; TTL deletes add nothing.
/// </summary>
public sealed class CapacityMeter
{
    private long _readMilli;
    private long _writeMilli;

    public double ReadUnits => Interlocked.Read(ref _readMilli) / 1000.0;

    public double WriteUnits => Interlocked.Read(ref _writeMilli) / 1000.0;

    internal long ReadMilli => Interlocked.Read(ref _readMilli);

    internal long WriteMilli => Interlocked.Read(ref _writeMilli);

    public void Add(double units, bool isRead) => Interlocked.Add(ref isRead ? ref _readMilli : ref _writeMilli, (long)Math.Round(units * 1000));
}
