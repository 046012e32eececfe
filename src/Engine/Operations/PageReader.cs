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

    public required byte[] Lower { get; init; }

    public bool LowerInclusive { get; init; } = true;

    public required byte[] Upper { get; init; }

    public bool UpperInclusive { get; init; } = true;

    public bool Forward { get; init; } = true;

    public int? Limit { get; init; }

    public ConditionExpression? Filter { get; init; }

    public ProjectionExpression? Projection { get; init; }

    public required ExpressionAttributes Attributes { get; init; }

    public bool CountOnly { get; init; }

    public bool Consistent { get; init; }

    public string? ReturnCapacity { get; init; }
}

/// <summary>
/// The paging engine Query and Scan share: walks the ordered key index over a range, reads each item, stops after
/// Limit items or once the sizes read reach 1 MB (the item that crosses is included, before the filter), filters,
/// projects, and writes Items, Count, ScannedCount, LastEvaluatedKey and ConsumedCapacity.
/// </summary>
internal static class PageReader
{
    public const long MaxPageBytes = 1024 * 1024;
    private const int Batch = 128;

    [ThreadStatic]
    private static PooledBufferWriter? t_buffer;

    public static void Run(OperationContext ctx, PageRequest p, Utf8JsonWriter w)
    {
        var db = ctx.Engine.Database;
        var definition = p.Table.Definition;
        var buffer = t_buffer ??= new PooledBufferWriter(4096);
        var keys = new List<byte[]>(Batch);
        byte[] lower = p.Lower, upper = p.Upper;
        bool lowerInclusive = p.LowerInclusive, upperInclusive = p.UpperInclusive;
        long bytes = 0;
        int scanned = 0, count = 0;
        byte[]? lastKey = null;
        var stoppedEarly = false;

        w.WriteStartObject();
        if (!p.CountOnly) w.WriteStartArray("Items"u8);
        while (!stoppedEarly)
        {
            keys.Clear();
            var n = p.Table.Keys.Read(lower, lowerInclusive, upper, upperInclusive, p.Forward, Batch, keys);
            foreach (var key in keys)
            {
                buffer.Clear();
                if (!db.TryRead(key, buffer)) continue; // deleted since the index was read
                var stored = buffer.WrittenSpan;
                scanned++;
                bytes += StoredValue.ItemSize(stored);
                lastKey = key;
                if (Emit(p, StoredValue.Item(stored), w)) count++;
                if ((p.Limit is { } limit && scanned >= limit) || bytes >= MaxPageBytes)
                {
                    stoppedEarly = true;
                    break;
                }
            }

            if (n < Batch) break;
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

        if (!p.CountOnly) w.WriteEndArray();
        w.WriteNumber("Count"u8, count);
        w.WriteNumber("ScannedCount"u8, scanned);
        if (stoppedEarly && lastKey != null)
        {
            KeyCodec.DecodeKey(lastKey, out _, out var hash, out var range);
            w.WriteStartObject("LastEvaluatedKey"u8);
            w.WritePropertyName(definition.HashKey.Name);
            AttrJson.WriteValue(w, hash);
            if (definition.RangeKey != null && range is not null)
            {
                w.WritePropertyName(definition.RangeKey.Name);
                AttrJson.WriteValue(w, range);
            }

            w.WriteEndObject();
        }

        Capacity.Write(w, p.ReturnCapacity, definition.Name, Capacity.ReadUnits(bytes, p.Consistent), isRead: true);
        w.WriteEndObject();
    }

    /// <summary>Filters one item and, unless counting only, writes it; true when it passed the filter.</summary>
    private static bool Emit(PageRequest p, ReadOnlySpan<byte> item, Utf8JsonWriter w)
    {
        if (p.Filter == null && p.Projection == null)
        {
            if (!p.CountOnly) ItemCodec.WriteJson(item, w);
            return true;
        }

        var decoded = ItemCodec.Decode(item);
        if (p.Filter != null && !p.Filter.Evaluate(decoded, p.Attributes)) return false;
        if (p.CountOnly) return true;
        AttrJson.WriteItem(w, p.Projection == null ? decoded : p.Projection.Apply(decoded, p.Attributes));
        return true;
    }

    /// <summary>
    /// Reads ExclusiveStartKey: exactly the table's key attributes with the right types. Returns its storage key.
    /// </summary>
    public static byte[]? ReadExclusiveStartKey(JsonElement req, TableDefinition table)
    {
        if (Req.Map(req, "ExclusiveStartKey") is not { } json) return null;
        if (!AttrJson.TryReadItem(json, out var key, out var error))
            throw error.ToException(m => "The provided starting key is invalid: " + m);
        var expected = table.RangeKey == null ? 1 : 2;
        if (key.Count != expected
            || !key.TryGetValue(table.HashKey.Name, out var hash) || AttrTypeNames.Name(hash.Type) != table.HashKey.Type
            || (table.RangeKey != null && (!key.TryGetValue(table.RangeKey.Name, out var r) || AttrTypeNames.Name(r.Type) != table.RangeKey.Type)))
            throw DynamoErrors.Validation("The provided starting key is invalid: The provided key element does not match the schema");
        var range = table.RangeKey == null ? null : key[table.RangeKey.Name];
        return KeyCodec.EncodeKey(table.TableNumber, hash, range);
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
        if (select == "ALL_PROJECTED_ATTRIBUTES")
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
