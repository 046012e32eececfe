namespace Serverless.Engine.Cache;

/// <summary>
/// One cluster's cache: the item cache (per storage key; GetItem and BatchGetItem answers hang off the items they
/// read) and the query cache (Query and Scan answers), keyed by the exact request bytes, with TTLs from the
/// cluster's parameter group and one LRU list over both, bounded by <see cref="CacheOptions.MemoryBytes"/>.
/// Every entry holds the finished response of a hit (ConsumedCapacity at zero when the request asked for it), so
/// a hit is one dictionary lookup under a short lock and one copy of the bytes: nothing is decoded or rendered.
/// One lock per cluster guards everything; it is never held across I/O or while taking an item lock.
/// </summary>
internal sealed class ClusterCache(string name, long capacityBytes, CacheSettings settings)
{
    /// <summary>Bytes charged per entry on top of its keys and responses (objects, dictionary slots, list links).</summary>
    internal const int EntryOverhead = 96;

    private readonly object _gate = new();
    private readonly Dictionary<byte[], RequestEntry> _requests = new(BytesComparer.Instance);
    private readonly Dictionary<byte[], ItemNode> _items = new(BytesComparer.Instance);

    // A generation per table slot (table number mod 256): a query entry filled at another generation is stale.
    private readonly long[] _queryGen = new long[256];
    private CacheNode? _head;
    private CacheNode? _tail;
    private long _bytes;
    private long _hits;
    private long _misses;
    private long _evictions;

    public string Name { get; } = name;

    public long CapacityBytes { get; } = capacityBytes;

    /// <summary>Replaced whole when the cluster's parameter group changes (read without the lock).</summary>
    public CacheSettings Settings { get; set; } = settings;

    public long Hits => Interlocked.Read(ref _hits);

    public long Misses => Interlocked.Read(ref _misses);

    public long Evictions => Interlocked.Read(ref _evictions);

    public void CountMiss() => Interlocked.Increment(ref _misses);

    public (int Items, int Requests, long Bytes) Size()
    {
        lock (_gate) return (_items.Count, _requests.Count, _bytes);
    }

    /// <summary>The query generation of a table now; a query answer read after this is cached with it.</summary>
    public long QueryGeneration(uint table)
    {
        lock (_gate) return _queryGen[table & 255];
    }

    /// <summary>A hit on exactly this request of operation <paramref name="op"/>: the finished response to send.</summary>
    public bool TryServe(CachedOp op, ReadOnlySpan<byte> body, long nowMs, out byte[] response)
    {
        lock (_gate)
        {
            response = null!;
            if (!_requests.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(body, out var entry) || entry.Op != op) return false;
            switch (entry.Kind)
            {
                case EntryKind.ItemView:
                    var item = entry.Item!;
                    if (item.Expired(nowMs))
                    {
                        RemoveItem(item);
                        return false;
                    }

                    Touch(item);
                    break;
                case EntryKind.Query:
                    if (entry.Expired(nowMs) || entry.Generation != _queryGen[entry.Table & 255])
                    {
                        RemoveRequest(entry);
                        return false;
                    }

                    Touch(entry);
                    break;
                default:
                    if (entry.Expired(nowMs))
                    {
                        RemoveRequest(entry);
                        return false;
                    }

                    Touch(entry);
                    foreach (var link in entry.Links!) Touch(link);
                    break;
            }

            _hits++;
            response = entry.Response;
            return true;
        }
    }

    /// <summary>
    /// A GetItem without projection whose item the cache holds (written through this cluster) though this exact
    /// request was not seen yet: renders the answer from the stored value and remembers it for this request.
    /// </summary>
    public bool TryServeItem(byte[] key, ReadOnlySpan<byte> body, CapacityMode mode, string tableName, long nowMs, out byte[] response)
    {
        lock (_gate)
        {
            response = null!;
            if (!_items.TryGetValue(key, out var item) || !item.HasStored) return false;
            if (item.Expired(nowMs))
            {
                RemoveItem(item);
                return false;
            }

            response = CachedResponses.Item(item.Stored, mode, tableName);
            AddView(item, body.ToArray(), response, mode, tableName, fullItem: true);
            Touch(item);
            _hits++;
            EvictOverflow();
            return true;
        }
    }

    /// <summary>Caches a GetItem answer, unless the item changed since the read began (<paramref name="stamp"/>).</summary>
    public void FillItem(byte[] key, uint table, FillStamp stamp, byte[] body, byte[] response, CapacityMode mode, string tableName, bool fullItem, long nowMs)
    {
        lock (_gate)
        {
            if (!stamp.Holds) return;
            var item = ItemFor(key, table, nowMs);
            AddView(item, body, response, mode, tableName, fullItem);
            Touch(item);
            EvictOverflow();
        }
    }

    /// <summary>Caches a BatchGetItem answer, linked to every item it read, unless one of them changed since the read began.</summary>
    public void FillBatch(byte[] body, byte[] response, (byte[] Key, uint Table)[] keys, FillStamp[] stamps, long nowMs)
    {
        lock (_gate)
        {
            foreach (var s in stamps)
            {
                if (!s.Holds) return;
            }

            Replace(body);
            var links = new ItemNode[keys.Length];
            var entry = new RequestEntry(EntryKind.Batch, body, response, CapacityMode.None, "", false) { Links = links, Op = CachedOp.BatchGetItem };
            entry.ExpiresMs = Expiry(nowMs, Settings.RecordTtlMillis);
            for (var i = 0; i < keys.Length; i++)
            {
                links[i] = ItemFor(keys[i].Key, keys[i].Table, nowMs);
                links[i].Views.Add(entry);
            }

            _requests[body] = entry;
            LinkFront(entry);
            _bytes += entry.Bytes;
            EvictOverflow();
        }
    }

    /// <summary>Caches a Query or Scan answer, unless the table changed since <paramref name="generation"/>.</summary>
    public void FillQuery(CachedOp op, uint table, long generation, byte[] body, byte[] response, long nowMs)
    {
        lock (_gate)
        {
            if (_queryGen[table & 255] != generation) return;
            Replace(body);
            var entry = new RequestEntry(EntryKind.Query, body, response, CapacityMode.None, "", false) { Table = table, Generation = generation, Op = op };
            entry.ExpiresMs = Expiry(nowMs, Settings.QueryTtlMillis);
            _requests[body] = entry;
            LinkFront(entry);
            _bytes += entry.Bytes;
            EvictOverflow();
        }
    }

    /// <summary>
    /// An item changed. Through this cluster: write-through, the item cache holds the new value (answers without a
    /// projection are re-rendered, others dropped). Otherwise, when the cluster invalidates on table writes, the
    /// item's entries go. Either way (when invalidating) the table's query answers go too.
    /// </summary>
    public void ItemChanged(uint table, ReadOnlySpan<byte> key, bool hasNew, ReadOnlySpan<byte> newValue, bool throughThis, long nowMs)
    {
        var settings = Settings;
        if (!throughThis && !settings.InvalidateOnTableWrites) return;
        lock (_gate)
        {
            if (settings.InvalidateOnTableWrites) _queryGen[table & 255]++;
            var found = _items.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(key, out var item);
            if (!throughThis)
            {
                if (found) RemoveItem(item!);
                return;
            }

            if (found && item!.Expired(nowMs))
            {
                RemoveItem(item);
                found = false;
            }

            if (!found) item = ItemFor(key.ToArray(), table, nowMs);
            var stored = hasNew ? newValue.ToArray() : null;
            var delta = (stored?.Length ?? 0) - (item!.Stored?.Length ?? 0);
            item.Stored = stored;
            item.HasStored = true;
            item.Bytes += delta;
            _bytes += delta;
            item.ExpiresMs = Expiry(nowMs, settings.RecordTtlMillis);
            for (var i = item.Views.Count - 1; i >= 0; i--)
            {
                var view = item.Views[i];
                if (view.Removed) continue;
                if (view.Kind == EntryKind.ItemView && view.FullItem)
                {
                    var response = CachedResponses.Item(stored, view.Mode, view.TableName);
                    var grow = response.Length - view.Response.Length;
                    view.Response = response;
                    view.Bytes += grow;
                    item.Bytes += grow;
                    _bytes += grow;
                }
                else
                {
                    RemoveRequest(view);
                }
            }

            Touch(item);
            EvictOverflow();
        }
    }

    /// <summary>A table was created, changed or dropped: nothing cached of it stays.</summary>
    public void TableChanged(uint table)
    {
        lock (_gate)
        {
            _queryGen[table & 255]++;
            var doomed = new List<CacheNode>();
            for (var n = _head; n != null; n = n.Next)
            {
                var of = n switch
                {
                    ItemNode i => i.Table == table,
                    RequestEntry { Kind: EntryKind.Query } q => q.Table == table,
                    RequestEntry b => Array.Exists(b.Links!, l => l.Table == table),
                    _ => false,
                };
                if (of) doomed.Add(n);
            }

            foreach (var n in doomed)
            {
                if (n is ItemNode i) RemoveItem(i);
                else RemoveRequest((RequestEntry)n);
            }
        }
    }

    private static long Expiry(long nowMs, long ttl) => ttl <= 0 ? 0 : nowMs + ttl;

    private ItemNode ItemFor(byte[] key, uint table, long nowMs)
    {
        if (_items.TryGetValue(key, out var item))
        {
            if (!item.Expired(nowMs)) return item;
            RemoveItem(item);
        }

        item = new ItemNode(key, table) { ExpiresMs = Expiry(nowMs, Settings.RecordTtlMillis) };
        _items.Add(key, item);
        LinkFront(item);
        _bytes += item.Bytes;
        return item;
    }

    private void AddView(ItemNode item, byte[] body, byte[] response, CapacityMode mode, string tableName, bool fullItem)
    {
        Replace(body);
        var view = new RequestEntry(EntryKind.ItemView, body, response, mode, tableName, fullItem) { Item = item, Table = item.Table, Op = CachedOp.GetItem };

        // Drop links to entries removed meanwhile, so a hot item's list does not grow with churn.
        item.Views.RemoveAll(static v => v.Removed);
        item.Views.Add(view);
        _requests[body] = view;
        item.Bytes += view.Bytes;
        _bytes += view.Bytes;
    }

    private void Replace(byte[] body)
    {
        if (_requests.TryGetValue(body, out var old)) RemoveRequest(old);
    }

    private void RemoveItem(ItemNode item)
    {
        if (item.Removed) return;
        item.Removed = true;
        Unlink(item);
        _items.Remove(item.Key);
        _bytes -= item.Bytes;
        foreach (var view in item.Views)
        {
            if (view.Removed) continue;
            if (view.Kind == EntryKind.ItemView)
            {
                view.Removed = true;
                _requests.Remove(view.Body);
            }
            else
            {
                RemoveRequest(view);
            }
        }
    }

    private void RemoveRequest(RequestEntry entry)
    {
        if (entry.Removed) return;
        entry.Removed = true;
        _requests.Remove(entry.Body);
        if (entry.Kind == EntryKind.ItemView)
        {
            // A view's bytes are part of its item's.
            entry.Item!.Bytes -= entry.Bytes;
            _bytes -= entry.Bytes;
            return;
        }

        Unlink(entry);
        _bytes -= entry.Bytes;
    }

    private void EvictOverflow()
    {
        while (_bytes > CapacityBytes && _tail != null)
        {
            var victim = _tail;
            if (victim is ItemNode item) RemoveItem(item);
            else RemoveRequest((RequestEntry)victim);
            _evictions++;
        }
    }

    private void Touch(CacheNode node)
    {
        if (_head == node) return;
        Unlink(node);
        LinkFront(node);
    }

    private void LinkFront(CacheNode node)
    {
        node.Prev = null;
        node.Next = _head;
        if (_head != null) _head.Prev = node;
        _head = node;
        _tail ??= node;
        node.Linked = true;
    }

    private void Unlink(CacheNode node)
    {
        if (!node.Linked) return;
        if (node.Prev != null) node.Prev.Next = node.Next;
        else _head = node.Next;
        if (node.Next != null) node.Next.Prev = node.Prev;
        else _tail = node.Prev;
        node.Prev = node.Next = null;
        node.Linked = false;
    }
}

/// <summary>The operation an answer belongs to: the same body sent to another operation is not a hit.</summary>
internal enum CachedOp : byte
{
    None,
    GetItem,
    BatchGetItem,
    Query,
    Scan,
}

internal enum EntryKind : byte
{
    ItemView,
    Batch,
    Query,
}

/// <summary>What ConsumedCapacity a request asked for (its hit answer carries it, at zero).</summary>
internal enum CapacityMode : byte
{
    None,
    Total,
    Indexes,
}

/// <summary>A member of the LRU list.</summary>
internal abstract class CacheNode
{
    public CacheNode? Prev;
    public CacheNode? Next;
    public bool Linked;
    public bool Removed;
    public long Bytes;

    /// <summary>Unix milliseconds after which the entry is stale; 0: never (a TTL of 0).</summary>
    public long ExpiresMs;

    public bool Expired(long nowMs) => ExpiresMs != 0 && nowMs >= ExpiresMs;
}

/// <summary>One item of the item cache: its stored value when written through the cluster, and the answers that read it.</summary>
internal sealed class ItemNode : CacheNode
{
    public ItemNode(byte[] key, uint table)
    {
        Key = key;
        Table = table;
        Bytes = ClusterCache.EntryOverhead + key.Length;
    }

    public byte[] Key { get; }

    public uint Table { get; }

    /// <summary>Set by write-through: the item's stored value, null when it was deleted (a negative entry).</summary>
    public byte[]? Stored;

    public bool HasStored;

    /// <summary>GetItem answers of this item, and BatchGetItem answers that include it.</summary>
    public List<RequestEntry> Views { get; } = new(1);
}

/// <summary>A cached answer to one exact request body.</summary>
internal sealed class RequestEntry : CacheNode
{
    public RequestEntry(EntryKind kind, byte[] body, byte[] response, CapacityMode mode, string tableName, bool fullItem)
    {
        Kind = kind;
        Body = body;
        Response = response;
        Mode = mode;
        TableName = tableName;
        FullItem = fullItem;
        Bytes = ClusterCache.EntryOverhead + body.Length + response.Length;
    }

    public EntryKind Kind { get; }

    public CachedOp Op { get; init; }

    public byte[] Body { get; }

    /// <summary>The whole answer of a hit. Replaced (never changed in place) by write-through.</summary>
    public byte[] Response;

    public CapacityMode Mode { get; }

    public string TableName { get; }

    /// <summary>A GetItem without projection: write-through can render its new answer from the stored value.</summary>
    public bool FullItem { get; }

    public uint Table { get; init; }

    public long Generation { get; init; }

    public ItemNode? Item { get; init; }

    public ItemNode[]? Links { get; init; }
}

/// <summary>
/// Proof that nothing changed an item (or its table) between the start of a read and the caching of its answer:
/// the change counters of its slots, read before the read. Checked under the cluster's lock; the write path bumps
/// the counters before it takes that lock to invalidate, so a change either fails the check or removes the entry.
/// </summary>
internal readonly struct FillStamp(long[] keySeq, int keySlot, long[] tableSeq, int tableSlot)
{
    private readonly long _key = Volatile.Read(ref keySeq[keySlot]);
    private readonly long _table = Volatile.Read(ref tableSeq[tableSlot]);

    public bool Holds => Volatile.Read(ref keySeq[keySlot]) == _key && Volatile.Read(ref tableSeq[tableSlot]) == _table;
}

/// <summary>Byte-string keys, looked up without allocating through <see cref="ReadOnlySpan{T}"/>.</summary>
internal sealed class BytesComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
{
    public static readonly BytesComparer Instance = new();

    public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

    public int GetHashCode(byte[] obj) => Hash(obj);

    public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);

    public int GetHashCode(ReadOnlySpan<byte> alternate) => Hash(alternate);

    public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();

    private static int Hash(ReadOnlySpan<byte> bytes)
    {
        var h = new HashCode();
        h.AddBytes(bytes);
        return h.ToHashCode();
    }
}
