using System.Text.Json;
using Serverless.Engine.Expressions;
using Serverless.Engine.Model;
using Serverless.Engine.Protocol;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Operations;

/// <summary>What one Query or Scan page reads: a key range of one table and what to do with each item.</summary>
internal sealed class PageRequest
{
    public required TableState Table { get; init; }

    /// <summary>The index read instead of the table, if any.</summary>
    public SecondaryIndex? Index { get; init; }

    /// <summary>Reduce each item to the index's projected attributes (false when a local index fetches from the table).</summary>
    public bool ProjectIndex { get; init; }

    public required ReadOnlyMemory<byte> Lower { get; init; }

    public bool LowerInclusive { get; init; } = true;

    public required ReadOnlyMemory<byte> Upper { get; init; }

    public bool UpperInclusive { get; init; } = true;

    public bool Forward { get; init; } = true;

    public int? Limit { get; init; }

    public ConditionExpression? Filter { get; init; }

    public ProjectionExpression? Projection { get; init; }

    public required ExpressionAttributes Attributes { get; init; }

    public bool CountOnly { get; init; }

    public bool Consistent { get; init; }

    public string? ReturnCapacity { get; init; }

    /// <summary>A Query's partition prefix (its partition key's limit applies); null for a Scan, which spans partitions.</summary>
    public ReadOnlyMemory<byte> PartitionKey { get; init; }
}

/// <summary>
/// The paging engine Query and Scan share: walks the ordered key index of the table or of a secondary index over a
/// range, reads each item, stops after Limit items or once the sizes read reach 1 MB (the item that crosses is
/// included, before the filter), filters, projects, and writes Items, Count, ScannedCount, LastEvaluatedKey and
/// ConsumedCapacity.
/// </summary>
internal static class PageReader
{
    public const long MaxPageBytes = 1024 * 1024;
    private const int Batch = 128;

    [ThreadStatic]
    private static PooledBufferWriter? t_buffer;

    [ThreadStatic]
    private static List<byte[]>? t_keys;

    /// <summary>Keys whose reads are issued together, then awaited together, once a page has met a record on disk.</summary>
    private const int DiskGroup = 32;

    /// <summary>
    /// Reads one page. While every item is in memory it runs synchronously, allocating nothing of its own. Once a read
    /// goes to disk, the page continues asynchronously: the reads of the next keys are issued together (in groups of
    /// <see cref="DiskGroup"/>) and awaited together, no thread waits for the disk, and no lock is held. The thread's
    /// buffers, and the bounds the caller may have built in its own thread's buffer, then become this page's.
    /// </summary>
    public static async ValueTask RunAsync(OperationContext ctx, PageRequest p, Utf8JsonWriter w)
    {
        var db = ctx.Engine.Database;
        var definition = p.Table.Definition;
        var buffer = t_buffer ??= new PooledBufferWriter(4096);
        // While synchronous, this thread's key list serves every page it reads (cleared after, holding no keys).
        var keys = t_keys ??= new List<byte[]>(Batch);
        ReadOnlyMemory<byte> lower = p.Lower, upper = p.Upper;
        bool lowerInclusive = p.LowerInclusive, upperInclusive = p.UpperInclusive;
        var progress = default(Progress);
        ReadSlots? slots = null;
        var index = p.Index;
        var source = index?.Entries ?? p.Table.Keys;
        var globalIndex = index is { Definition.Global: true } ? index : null;

        // The size of what a page reads is known only after it is read: it is admitted while the table (or the global
        // index) holds the minimum a read costs, and charged what it read afterwards.
        var admission = Capacity.AdmitRead(ctx, p.Table, globalIndex, globalIndex == null ? p.PartitionKey.Span : default, Capacity.ReadUnits(0, p.Consistent));

        w.WriteStartObject();
        if (!p.CountOnly) w.WriteStartArray("Items"u8);
        var reader = db.OpenReader();
        try
        {
            while (!progress.StoppedEarly)
            {
                keys.Clear();
                // A Limit smaller than a batch needs only that many keys (entries skipped as moved are rare).
                var want = p.Limit is { } l ? Math.Clamp(l - progress.Scanned, 1, Batch) : Batch;
                var n = source.Read(lower.Span, lowerInclusive, upper.Span, upperInclusive, p.Forward, want, keys);
                var next = 0;
                if (slots == null)
                {
                    // In memory: each item is read and visited in turn, until one is on disk.
                    for (; next < keys.Count; next++)
                    {
                        buffer.Clear();
                        var read = reader.Read(StorageKey(index, keys[next]), buffer, 0);
                        if (read == StoreRead.Pending) break;
                        if (read == StoreRead.Found && Visit(p, ref progress, keys[next], buffer.WrittenSpan, w)) break;
                    }

                    if (next < keys.Count && reader.HasPending)
                    {
                        // From here on this page is asynchronous: what the thread lent it, and the caller's bounds, are its own.
                        if (ReferenceEquals(t_buffer, buffer)) t_buffer = null;
                        if (ReferenceEquals(t_keys, keys)) t_keys = null;
                        lower = lower.ToArray();
                        upper = upper.ToArray();
                        slots = new ReadSlots();
                    }
                }

                while (slots != null && next < keys.Count && !progress.StoppedEarly)
                {
                    // The key at next may already be pending (into slot 0 of its group); the rest of the group is issued now.
                    var count = Math.Min(DiskGroup, keys.Count - next);
                    slots.Reset(count);
                    for (var j = reader.HasPending ? 1 : 0; j < count; j++)
                    {
                        buffer.Clear();
                        if (reader.Read(StorageKey(index, keys[next + j]), buffer, j) == StoreRead.Found) slots.Set(j, buffer.WrittenSpan);
                    }

                    if (reader.HasPending) await reader.CompletePendingAsync(slots).ConfigureAwait(false);
                    for (var j = 0; j < count && !progress.StoppedEarly; j++)
                    {
                        if (slots.TryGet(j, out var stored)) Visit(p, ref progress, keys[next + j], stored, w);
                    }

                    next += count;
                }

                if (progress.StoppedEarly || n < want) break;
                if (p.Forward)
                {
                    lower = keys[^1];
                    lowerInclusive = false;
                }
                else
                {
                    upper = keys[^1];
                    upperInclusive = false;
                }
            }
        }
        finally
        {
            reader.Dispose();
            slots?.Dispose();
            keys.Clear();
        }

        if (!p.CountOnly) w.WriteEndArray();
        w.WriteNumber("Count"u8, progress.Count);
        w.WriteNumber("ScannedCount"u8, progress.Scanned);
        if (progress.StoppedEarly && progress.LastKey != null)
        {
            w.WritePropertyName("LastEvaluatedKey"u8);
            AttrJson.WriteItem(w, KeyOfPosition(progress.LastKey, definition, index));
        }

        var units = Capacity.ReadUnits(progress.Bytes, p.Consistent);
        ctx.Engine.Capacity.Settle(admission, units);
        if (index == null) Capacity.Write(w, p.ReturnCapacity, definition.Name, units, isRead: true);
        else IndexCapacity.Write(w, p.ReturnCapacity, definition.Name, index.Definition, units, isRead: true);
        w.WriteEndObject();
    }

    /// <summary>Where a page stands: what it has read and written so far.</summary>
    private struct Progress
    {
        public long Bytes;
        public int Scanned;
        public int Count;
        public byte[]? LastKey;
        public bool StoppedEarly;
    }

    private static ReadOnlySpan<byte> StorageKey(SecondaryIndex? index, byte[] key) => index == null ? key : index.StorageKeyOf(key);

    /// <summary>
    /// Visits one item read at a page position: counts it, filters, projects and writes it. True when the page is full
    /// (Limit items, or 1 MB read).
    /// </summary>
    private static bool Visit(PageRequest p, ref Progress progress, byte[] key, ReadOnlySpan<byte> stored, Utf8JsonWriter w)
    {
        var index = p.Index;
        if (index == null)
        {
            progress.Scanned++;
            progress.Bytes += StoredValue.ItemSize(stored);
            progress.LastKey = key;
            if (Emit(p, StoredValue.Item(stored), w)) progress.Count++;
        }
        else
        {
            var item = ItemCodec.Decode(StoredValue.Item(stored));

            // The item may have changed since the entry was read; it belongs on this page only if it still has this entry.
            if (index.EntryFor(item, index.StorageKeyOf(key)) is not { } entry || !entry.AsSpan().SequenceEqual(key)) return false;
            var view = p.ProjectIndex ? index.Project(item, p.Table.Definition) : item;
            progress.Scanned++;
            progress.Bytes += ReferenceEquals(view, item) ? StoredValue.ItemSize(stored) : ItemSize.Of(view);
            progress.LastKey = key;
            if (Emit(p, view, w)) progress.Count++;
        }

        if ((p.Limit is { } limit && progress.Scanned >= limit) || progress.Bytes >= MaxPageBytes) progress.StoppedEarly = true;
        return progress.StoppedEarly;
    }

    /// <summary>The key attributes a page position stands for: the table's keys, plus the index's for an index entry.</summary>
    private static Dictionary<string, AttrValue> KeyOfPosition(byte[] position, TableDefinition table, SecondaryIndex? index)
    {
        var key = new Dictionary<string, AttrValue>(StringComparer.Ordinal);
        var storageKey = position.AsSpan();
        if (index != null)
        {
            var d = index.Definition;
            var pos = KeyCodec.HeaderLength;
            var hashKeys = d.HashKeys;
            var partition = MultiAttributeKey.Split(KeyCodec.DecodeComponent(position, ref pos), hashKeys.Length);
            for (var i = 0; i < hashKeys.Length; i++) key[hashKeys[i].Name] = partition[i];
            foreach (var r in d.RangeKeys) key[r.Name] = KeyCodec.DecodeComponent(position, ref pos);
            storageKey = storageKey[pos..];
        }

        KeyCodec.DecodeKey(storageKey, out _, out var hash, out var range);
        key[table.HashKey.Name] = hash;
        if (table.RangeKey != null && range is not null) key[table.RangeKey.Name] = range;
        return key;
    }

    /// <summary>Filters one item and, unless counting only, writes it; true when it passed the filter.</summary>
    private static bool Emit(PageRequest p, ReadOnlySpan<byte> item, Utf8JsonWriter w)
    {
        if (p.Filter == null && p.Projection == null)
        {
            if (!p.CountOnly) ItemCodec.WriteJson(item, w);
            return true;
        }

        return Emit(p, ItemCodec.Decode(item), w);
    }

    private static bool Emit(PageRequest p, IReadOnlyDictionary<string, AttrValue> decoded, Utf8JsonWriter w)
    {
        if (p.Filter != null && !p.Filter.Evaluate(decoded, p.Attributes)) return false;
        if (p.CountOnly) return true;
        AttrJson.WriteItem(w, p.Projection == null ? decoded : p.Projection.Apply(decoded, p.Attributes));
        return true;
    }

    /// <summary>
    /// Reads ExclusiveStartKey: exactly the table's key attributes with the right types, plus the index's when reading
    /// an index. Returns the page position it stands for: a storage key, or an index entry.
    /// </summary>
    public static byte[]? ReadExclusiveStartKey(JsonElement req, TableDefinition table, SecondaryIndex? index)
    {
        if (Req.Map(req, "ExclusiveStartKey") is not { } json) return null;
        if (!AttrJson.TryReadItem(json, out var key, out var error))
            throw error.ToException(m => "The provided starting key is invalid: " + m);
        var names = new HashSet<string>(StringComparer.Ordinal) { table.HashKey.Name };
        if (table.RangeKey != null) names.Add(table.RangeKey.Name);
        if (index != null)
        {
            var d = index.Definition;
            foreach (var k in d.HashKeys)
            {
                names.Add(k.Name);
                if (!Matches(key, k)) throw DynamoErrors.Validation("The provided starting key is invalid");
            }

            foreach (var k in d.RangeKeys)
            {
                names.Add(k.Name);
                if (!Matches(key, k)) throw DynamoErrors.Validation("The provided starting key is invalid");
            }

            if (key.Count != names.Count) throw DynamoErrors.Validation("The provided starting key is invalid");
        }

        if (key.Count != names.Count || !Matches(key, table.HashKey) || (table.RangeKey != null && !Matches(key, table.RangeKey)))
            throw DynamoErrors.Validation("The provided starting key is invalid: The provided key element does not match the schema");
        var range = table.RangeKey == null ? null : key[table.RangeKey.Name];
        var storageKey = KeyCodec.EncodeKey(table.TableNumber, key[table.HashKey.Name], range);
        return index == null ? storageKey : index.EntryFor(key, storageKey);

        static bool Matches(Dictionary<string, AttrValue> key, KeyAttribute attribute) =>
            key.TryGetValue(attribute.Name, out var v) && AttrTypeNames.Name(v.Type) == attribute.Type;
    }

    /// <summary>
    /// Resolves IndexName for a Query or Scan: the index must exist, be readable (not backfilling) and, when global,
    /// be read eventually consistently. Null when the request names no index.
    /// </summary>
    public static SecondaryIndex? ReadIndex(JsonElement req, TableState table, bool consistent)
    {
        if (Req.String(req, "IndexName") is not { } name) return null;
        var index = table.FindIndex(name) ?? throw DynamoErrors.Validation("The table does not have the specified index: " + name);
        var d = index.Definition;
        if (d.Global && consistent) throw DynamoErrors.Validation("Consistent reads are not supported on global secondary indexes");
        if (d.Status == IndexStatus.Creating) throw DynamoErrors.Validation("Cannot read from backfilling global secondary index: " + name);
        return index;
    }

    /// <summary>
    /// Whether items read through <paramref name="index"/> are cut down to its projection: always for a global index
    /// (Select ALL_ATTRIBUTES needs projection ALL); for a local one unless the request asks for attributes it may
    /// fetch from the table.
    /// </summary>
    public static bool ProjectsIndex(JsonElement req, SecondaryIndex? index, ProjectionExpression? projection)
    {
        if (index == null) return false;
        var d = index.Definition;
        var select = Req.String(req, "Select");
        if (select == "ALL_ATTRIBUTES" && d.ProjectionType != "ALL")
        {
            if (d.Global)
                throw DynamoErrors.Validation($"One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global secondary index {d.Name} because its projection type is not ALL");
            return false;
        }

        if (d.ProjectionType == "ALL") return false;
        return d.Global || projection == null;
    }

    /// <summary>
    /// Reads Select, ProjectionExpression / AttributesToGet, with AWS's checks on their combinations.
    /// Returns the projection (null for all attributes) and whether only the count is wanted.
    /// </summary>
    public static (ProjectionExpression? Projection, bool CountOnly) ReadSelect(JsonElement req, ExpressionAttributes attributes)
    {
        var select = Req.String(req, "Select");
        var attributesToGet = Req.StringList(req, "AttributesToGet");
        var projectionText = Req.String(req, "ProjectionExpression");
        if (select == "ALL_PROJECTED_ATTRIBUTES" && Req.Has(req, "IndexName"))
        {
            if (projectionText != null) throw DynamoErrors.Validation("Cannot specify the ProjectionExpression when choosing to get ALL_PROJECTED_ATTRIBUTES");
            if (attributesToGet != null) throw DynamoErrors.Validation("Cannot specify the AttributesToGet when choosing to get ALL_PROJECTED_ATTRIBUTES");
        }
        else if (select == "ALL_PROJECTED_ATTRIBUTES")
            throw DynamoErrors.Validation("ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName");
        if (select is "ALL_ATTRIBUTES" or "COUNT")
        {
            var what = select == "COUNT" ? "only the Count" : "ALL_ATTRIBUTES";
            if (projectionText != null) throw DynamoErrors.Validation("Cannot specify the ProjectionExpression when choosing to get " + what);
            if (attributesToGet != null) throw DynamoErrors.Validation("Cannot specify the AttributesToGet when choosing to get " + what);
        }

        if (select == "SPECIFIC_ATTRIBUTES" && projectionText == null && attributesToGet == null)
            throw DynamoErrors.Validation("Must specify the AttributesToGet or ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES");

        ProjectionExpression? projection = null;
        if (projectionText != null) projection = ExpressionParser.ParseProjection(projectionText, attributes);
        else if (attributesToGet != null)
        {
            var duplicate = attributesToGet.GroupBy(a => a, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
            if (duplicate != null) throw DynamoErrors.Validation($"One or more parameter values were invalid: Duplicate value in attribute name: {duplicate.Key}");
            projection = LegacyParameters.FromAttributesToGet(attributesToGet);
        }

        return (projection, select == "COUNT");
    }

    /// <summary>Reads a legacy QueryFilter / ScanFilter map into one condition (AND or OR per ConditionalOperator).</summary>
    public static ConditionExpression? ReadLegacyFilter(JsonElement req, string member)
    {
        if (Req.Map(req, member) is not { } filter) return null;
        var op = Req.String(req, "ConditionalOperator");
        var list = new List<ExpectedCondition>();
        var path = char.ToLowerInvariant(member[0]) + member[1..];
        foreach (var c in filter.EnumerateObject())
        {
            Req.RequireObject(c.Value, "Condition");
            var comparison = Req.String(c.Value, "ComparisonOperator");
            var errors = new ConstraintErrors();
            errors.NotNull($"{path}.{c.Name}.member.comparisonOperator", comparison);
            errors.Enum($"{path}.{c.Name}.member.comparisonOperator", comparison, ComparisonOperators, ComparisonOperatorList);
            errors.ThrowIfAny();
            var args = new List<AttrValue>();
            if (Req.List(c.Value, "AttributeValueList") is { } al)
                foreach (var a in al.EnumerateArray()) args.Add(AttrJson.ReadValue(a));
            list.Add(new ExpectedCondition(c.Name, null, null, comparison, args));
        }

        return list.Count == 0 ? null : LegacyParameters.FromExpected(list, op);
    }

    public const string ComparisonOperators = "IN, NULL, BETWEEN, LT, NOT_CONTAINS, EQ, GT, NOT_NULL, NE, LE, BEGINS_WITH, GE, CONTAINS";

    public static readonly string[] ComparisonOperatorList = ComparisonOperators.Split(", ");

    /// <summary>The top-level attribute names a condition reads.</summary>
    public static IEnumerable<string> AttributeNames(ConditionExpression condition, ExpressionAttributes attributes)
    {
        var names = new List<string>();
        Collect(condition.Root);
        return names;

        void Collect(Node? n)
        {
            switch (n)
            {
                case PathNode p:
                    names.Add(Evaluator.ElementName(p.Path.Elements[0], attributes));
                    break;
                case FuncNode f:
                    foreach (var a in f.Args) Collect(a);
                    break;
                case ArithNode a:
                    Collect(a.Left);
                    Collect(a.Right);
                    break;
                case CompareNode c:
                    Collect(c.Left);
                    Collect(c.Right);
                    break;
                case BetweenNode b:
                    Collect(b.Value);
                    Collect(b.Low);
                    Collect(b.High);
                    break;
                case InNode i:
                    Collect(i.Value);
                    foreach (var x in i.List) Collect(x);
                    break;
                case AndNode a:
                    Collect(a.Left);
                    Collect(a.Right);
                    break;
                case OrNode o:
                    Collect(o.Left);
                    Collect(o.Right);
                    break;
                case NotNode x:
                    Collect(x.Operand);
                    break;
            }
        }
    }

    /// <summary>Limit: at least 1 (AWS's constraint message).</summary>
    public static int? ReadLimit(JsonElement req, ConstraintErrors errors)
    {
        var limit = Req.Long(req, "Limit", "Integer");
        if (limit is < 1) errors.Add("limit", limit.Value.ToString(System.Globalization.CultureInfo.InvariantCulture), "Member must have value greater than or equal to 1");
        return limit is null ? null : (int)Math.Min(limit.Value, int.MaxValue);
    }
}

/// <summary>ConsumedCapacity of a read through a secondary index: with INDEXES, the units are the index's, not the table's.</summary>
internal static class IndexCapacity
{
    public static void Write(Utf8JsonWriter w, string? mode, string tableName, IndexDefinition index, double units, bool isRead)
    {
        if (mode != "INDEXES")
        {
            Capacity.Write(w, mode, tableName, units, isRead);
            return;
        }

        var kind = isRead ? "ReadCapacityUnits"u8 : "WriteCapacityUnits"u8;
        w.WriteStartObject("ConsumedCapacity"u8);
        w.WriteString("TableName"u8, tableName);
        w.WriteNumber("CapacityUnits"u8, units);
        w.WriteNumber(kind, units);
        w.WriteStartObject("Table"u8);
        w.WriteNumber("CapacityUnits"u8, 0);
        w.WriteNumber(kind, 0);
        w.WriteEndObject();
        w.WriteStartObject(index.Global ? "GlobalSecondaryIndexes"u8 : "LocalSecondaryIndexes"u8);
        w.WriteStartObject(index.Name);
        w.WriteNumber("CapacityUnits"u8, units);
        w.WriteNumber(kind, units);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndObject();
    }
}
