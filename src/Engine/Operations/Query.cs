using System.Text.Json;
using Serverless.Engine.Expressions;
using Serverless.Engine.Model;
using Serverless.Engine.Protocol;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Operations;

/// <summary>
/// Query: one partition of a table, a range of its sort keys, forward or backward. The key conditions become
/// storage-key bounds over the table's ordered key index.
/// </summary>
internal static class Query
{
    // KeyConditions on its own does not count as a non-expression parameter (AWS accepts it with FilterExpression).
    private static readonly string[] LegacyNames = ["AttributesToGet", "QueryFilter", "ConditionalOperator"];
    private static readonly string[] ExpressionNames = ["ProjectionExpression", "FilterExpression", "KeyConditionExpression"];

    /// <summary>Longer than any encoded sort-key component: appended to a prefix, it bounds every key that extends it.</summary>
    private static readonly byte[] HighRun = Enumerable.Repeat((byte)0xFF, 2100).ToArray();

    public static ValueTask ExecuteAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var tableName = Req.TableName(req);
        var errors = ConstraintErrors.ForThread();
        var returnCapacity = Req.String(req, "ReturnConsumedCapacity");
        var select = Req.String(req, "Select");
        var consistent = Req.Bool(req, "ConsistentRead") ?? false;
        var forward = Req.Bool(req, "ScanIndexForward") ?? true;
        // In the order AWS lists them: limit, keyConditions, returnConsumedCapacity, attributesToGet, tableName, select, indexName.
        var limit = PageReader.ReadLimit(req, errors);
        if (Req.Map(req, "KeyConditions") is { } legacyConditions) CheckKeyConditionOperators(legacyConditions, errors);
        errors.Enum("returnConsumedCapacity", returnCapacity, "INDEXES, TOTAL, NONE", "INDEXES", "TOTAL", "NONE");
        var attributesToGet = Req.StringList(req, "AttributesToGet");
        if (attributesToGet is { Count: 0 }) errors.Add("attributesToGet", "[]", "Member must have length greater than or equal to 1");
        errors.Name("tableName", tableName, allowArn: true);
        errors.Enum("select", select, "SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES", "SPECIFIC_ATTRIBUTES", "COUNT", "ALL_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES");
        errors.Enum("conditionalOperator", Req.String(req, "ConditionalOperator"), "AND, OR", "AND", "OR");
        if (Req.String(req, "IndexName") is { } indexName) errors.Name("indexName", indexName);
        errors.ThrowIfAny();

        if (Req.Has(req, "KeyConditions") && Req.Has(req, "KeyConditionExpression"))
            throw DynamoErrors.Validation("Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {KeyConditions} Expression parameters: {KeyConditionExpression}");
        ItemRequest.CheckExpressionMix(req, LegacyNames, ExpressionNames, "KeyConditionExpression and FilterExpression are null");
        var attributes = ItemRequest.ReadExpressionAttributes(req);
        var (projection, countOnly) = PageReader.ReadSelect(req, attributes);
        ConditionExpression? filter = null;
        var legacyFilter = false;
        if (Req.String(req, "FilterExpression") is { } filterText) filter = ExpressionParser.ParseFilter(filterText, attributes);
        IReadOnlyList<KeyCondition> conditions;
        var legacyKeys = false;
        if (Req.String(req, "KeyConditionExpression") is { } keyText) conditions = ExpressionParser.ParseKeyCondition(keyText, attributes);
        else if (Req.Map(req, "KeyConditions") is { } keyConditions)
        {
            conditions = ReadKeyConditions(keyConditions);
            legacyKeys = true;
        }
        else throw DynamoErrors.Validation("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.");

        attributes.ThrowIfUnused();
        if (filter == null)
        {
            filter = PageReader.ReadLegacyFilter(req, "QueryFilter");
            legacyFilter = filter != null;
        }

        var table = Tables.RequireForDataPlane(ctx, tableName!);
        var definition = table.Definition;
        var index = PageReader.ReadIndex(req, table, consistent);
        var projectIndex = PageReader.ProjectsIndex(req, index, projection);
        var hashKey = index?.Definition.HashKey ?? definition.HashKey;
        var rangeKey = index == null ? definition.RangeKey : index.Definition.RangeKey;
        var multi = index != null && index.Definition.MultiAttribute ? MultiAttributeQuery.Match(conditions, index.Definition, legacyKeys) : null;
        var (hash, sort) = multi is { } m ? (m.Partition, m.Last) : MatchSchema(conditions, hashKey, rangeKey, legacyKeys);
        if (filter != null && !ctx.FromPartiQL)
        {
            var names = legacyFilter
                ? Req.Map(req, "QueryFilter")!.Value.EnumerateObject().Select(p => p.Name)
                : PageReader.AttributeNames(filter, attributes);
            foreach (var name in names)
            {
                if (name == hashKey.Name || name == rangeKey?.Name || (multi != null && index!.Definition.IsKeyAttribute(name)))
                    throw DynamoErrors.Validation((legacyFilter ? "QueryFilter" : "Filter Expression") + " can only contain non-primary key attributes: Primary key attribute: " + name);
            }
        }

        var start = PageReader.ReadExclusiveStartKey(req, definition, index);

        // Bounds over storage keys, or over index entries (an index key followed by a storage key): an upper bound
        // "at value v" is v's component followed by a run of 0xFF, above every key or entry that extends it.
        // The bounds are built in this thread's scratch buffer (PageReader.RunAsync copies them if it has to wait for the disk).
        var bounds = Bounds.ForThread();
        var prefix = bounds.Take(KeyCodec.HeaderLength + KeyCodec.ComponentLength(hash));
        KeyCodec.EncodePartitionPrefix(index?.Number ?? definition.TableNumber, hash, prefix.Span);
        // A multi-attribute sort key fixes its leading attributes by equality: their components extend the prefix
        // the last condition's bounds start from.
        ReadOnlyMemory<byte> sortPrefix = prefix;
        if (multi is { } fixedSort)
        {
            foreach (var fixedValue in fixedSort.Equal) sortPrefix = bounds.Concat(sortPrefix, bounds.Component(fixedValue));
        }

        ReadOnlyMemory<byte> lower = sortPrefix, upper = bounds.Concat(sortPrefix, HighRun);
        bool lowerInclusive = true, upperInclusive = true;
        if (sort != null)
        {
            var v = sort.Values;
            switch (sort.Operator)
            {
                case KeyConditionOperator.EQ:
                    lower = bounds.Concat(sortPrefix, bounds.Component(v[0]));
                    upper = bounds.Concat(lower, HighRun);
                    break;
                case KeyConditionOperator.LT:
                    upper = bounds.Concat(sortPrefix, bounds.Component(v[0]));
                    upperInclusive = false;
                    break;
                case KeyConditionOperator.LE:
                    upper = bounds.Concat(bounds.Concat(sortPrefix, bounds.Component(v[0])), HighRun);
                    break;
                case KeyConditionOperator.GT:
                    lower = bounds.Concat(bounds.Concat(sortPrefix, bounds.Component(v[0])), HighRun);
                    lowerInclusive = false;
                    break;
                case KeyConditionOperator.GE:
                    lower = bounds.Concat(sortPrefix, bounds.Component(v[0]));
                    break;
                case KeyConditionOperator.BETWEEN:
                    lower = bounds.Concat(sortPrefix, bounds.Component(v[0]));
                    upper = bounds.Concat(bounds.Concat(sortPrefix, bounds.Component(v[1])), HighRun);
                    break;
                case KeyConditionOperator.BEGINS_WITH:
                    lower = bounds.Concat(sortPrefix, bounds.Component(v[0], terminated: false));
                    upper = bounds.Concat(lower, HighRun);
                    break;
            }
        }

        if (start != null)
        {
            // With a sort key condition AWS checks the start key's sort value first, then its partition.
            if (sort != null && multi == null && !StartMatchesSort(req, sort))
                throw DynamoErrors.Validation("The provided starting key does not match the range key predicate");
            if (!start.AsSpan().StartsWith(prefix.Span))
                throw DynamoErrors.Validation(sort != null && multi == null
                    ? "The query can return at most one row and cannot be restarted"
                    : "The provided starting key is outside query boundaries based on provided conditions");
            if (forward && start.AsSpan().SequenceCompareTo(lower.Span) >= 0)
            {
                lower = start;
                lowerInclusive = false;
            }
            else if (!forward && start.AsSpan().SequenceCompareTo(upper.Span) <= 0)
            {
                upper = start;
                upperInclusive = false;
            }
        }

        return PageReader.RunAsync(ctx, new PageRequest
        {
            Table = table, Index = index, ProjectIndex = projectIndex, Lower = lower, LowerInclusive = lowerInclusive, Upper = upper, UpperInclusive = upperInclusive,
            Forward = forward, Limit = limit, Filter = filter, Projection = projection, Attributes = attributes,
            CountOnly = countOnly, Consistent = consistent, ReturnCapacity = returnCapacity, PartitionKey = prefix,
        }, w);
    }

    /// <summary>Checks the key conditions against the key schema; returns the partition value and the sort condition.</summary>
    /// <summary>Whether ExclusiveStartKey's value of the sort attribute satisfies the query's sort key condition.</summary>
    private static bool StartMatchesSort(JsonElement req, KeyCondition sort)
    {
        if (Req.Map(req, "ExclusiveStartKey") is not { } key || !key.TryGetProperty(sort.AttributeName, out var json)
            || !AttrJson.TryReadValue(json, out var value, out _)) return true;
        var v = sort.Values;
        var c = Evaluator.Compare(value, v[0]);
        if (c is not { } cmp) return false;
        return sort.Operator switch
        {
            KeyConditionOperator.EQ => cmp == 0,
            KeyConditionOperator.LT => cmp < 0,
            KeyConditionOperator.LE => cmp <= 0,
            KeyConditionOperator.GT => cmp > 0,
            KeyConditionOperator.GE => cmp >= 0,
            KeyConditionOperator.BETWEEN => cmp >= 0 && Evaluator.Compare(value, v[1]) <= 0,
            _ => value.Type == v[0].Type && (value.Type == AttrType.S ? value.S.StartsWith(v[0].S, StringComparison.Ordinal) : value.B.AsSpan().StartsWith(v[0].B)),
        };
    }

    private static (AttrValue Hash, KeyCondition? Sort) MatchSchema(IReadOnlyList<KeyCondition> conditions, KeyAttribute hashKey, KeyAttribute? rangeKey, bool legacy)
    {
        if (legacy && conditions.Count is not (1 or 2)) throw DynamoErrors.Validation("Conditions can be of length 1 or 2 only");
        KeyCondition? hashCondition = null;
        foreach (var c in conditions)
        {
            if (c.AttributeName != hashKey.Name) continue;
            hashCondition = c;
            break;
        }

        if (hashCondition == null) throw DynamoErrors.Validation("Query condition missed key schema element: " + hashKey.Name);
        if (hashCondition.Operator != KeyConditionOperator.EQ) throw DynamoErrors.Validation("Query key condition not supported");
        KeyCondition? sort = null;
        foreach (var c in conditions)
        {
            if (ReferenceEquals(c, hashCondition)) continue;
            if (rangeKey == null || c.AttributeName != rangeKey.Name)
            {
                if (rangeKey != null && !conditions.Any(x => x.AttributeName == rangeKey.Name) && conditions.Count <= 2)
                    throw DynamoErrors.Validation("Query condition missed key schema element: " + rangeKey.Name);
                throw DynamoErrors.Validation("Query key condition not supported");
            }

            sort = c;
        }

        var hash = hashCondition.Values[0];
        if (AttrTypeNames.Name(hash.Type) != hashKey.Type)
            throw DynamoErrors.Validation("One or more parameter values were invalid: Condition parameter type does not match schema type");
        CheckNotEmpty(hashKey.Name, hash);
        if (sort != null) CheckSortCondition(sort, rangeKey!, legacy);
        return (hash, sort);
    }

    /// <summary>Checks the sort key condition's values against the sort key attribute it names.</summary>
    internal static void CheckSortCondition(KeyCondition sort, KeyAttribute rangeKey, bool legacy)
    {
        foreach (var v in sort.Values)
        {
            if (AttrTypeNames.Name(v.Type) != rangeKey.Type)
                throw DynamoErrors.Validation("One or more parameter values were invalid: Condition parameter type does not match schema type");
        }

        if (sort.Operator == KeyConditionOperator.BEGINS_WITH && sort.Values[0].Type == AttrType.N)
        {
            throw DynamoErrors.Validation(legacy
                ? "One or more parameter values were invalid: ComparisonOperator BEGINS_WITH is not valid for N AttributeValue type"
                : "Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N");
        }

        if (sort.Operator == KeyConditionOperator.BETWEEN
            && Component(sort.Values[0]).AsSpan().SequenceCompareTo(Component(sort.Values[1])) > 0)
        {
            throw DynamoErrors.Validation(legacy
                ? "The BETWEEN condition was provided a range where the lower bound is greater than the upper bound"
                : "Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; "
                  + $"lower bound operand: AttributeValue: {{{AttrTypeNames.Name(sort.Values[0].Type)}:{Show(sort.Values[0])}}}, "
                  + $"upper bound operand: AttributeValue: {{{AttrTypeNames.Name(sort.Values[1].Type)}:{Show(sort.Values[1])}}}");
        }
    }

    private static string Show(AttrValue v) => v.Type switch
    {
        AttrType.S => v.S,
        AttrType.N => v.N,
        _ => Convert.ToBase64String(v.B),
    };

    internal static void CheckNotEmpty(string name, AttrValue value)
    {
        if (value.Type == AttrType.S && value.S.Length == 0)
            throw DynamoErrors.Validation($"One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: {name}");
        if (value.Type == AttrType.B && value.B.Length == 0)
            throw DynamoErrors.Validation($"One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty binary value. Key: {name}");
    }

    /// <summary>
    /// The comparison operators of the legacy KeyConditions, for the constraint list. Listed last first, as in the
    /// one response of AWS we have on record (condition b before a for <c>{"a":{},"b":{...}}</c>); AWS's order for
    /// more conditions is not known.
    /// </summary>
    private static void CheckKeyConditionOperators(JsonElement map, ConstraintErrors errors)
    {
        var conditions = new List<JsonProperty>();
        foreach (var p in map.EnumerateObject()) conditions.Add(p);
        for (var i = conditions.Count - 1; i >= 0; i--)
        {
            var p = conditions[i];
            if (p.Value.ValueKind != JsonValueKind.Object) continue;
            var op = Req.String(p.Value, "ComparisonOperator");
            errors.NotNull($"keyConditions.{p.Name}.member.comparisonOperator", op);
            errors.Enum($"keyConditions.{p.Name}.member.comparisonOperator", op, PageReader.ComparisonOperators, PageReader.ComparisonOperatorList);
        }
    }

    /// <summary>Reads the legacy KeyConditions map.</summary>
    private static List<KeyCondition> ReadKeyConditions(JsonElement map)
    {
        var result = new List<KeyCondition>();
        foreach (var p in map.EnumerateObject())
        {
            Req.RequireObject(p.Value, "Condition");
            var op = Req.String(p.Value, "ComparisonOperator");
            var errors = new ConstraintErrors();
            errors.NotNull($"keyConditions.{p.Name}.member.comparisonOperator", op);
            errors.Enum($"keyConditions.{p.Name}.member.comparisonOperator", op, PageReader.ComparisonOperators, PageReader.ComparisonOperatorList);
            errors.ThrowIfAny();
            var values = new List<AttrValue>();
            if (Req.List(p.Value, "AttributeValueList") is { } list)
                foreach (var e in list.EnumerateArray()) values.Add(AttrJson.ReadValue(e));
            KeyConditionOperator kop;
            int arity;
            switch (op)
            {
                case "EQ": kop = KeyConditionOperator.EQ; arity = 1; break;
                case "LT": kop = KeyConditionOperator.LT; arity = 1; break;
                case "LE": kop = KeyConditionOperator.LE; arity = 1; break;
                case "GT": kop = KeyConditionOperator.GT; arity = 1; break;
                case "GE": kop = KeyConditionOperator.GE; arity = 1; break;
                case "BEGINS_WITH": kop = KeyConditionOperator.BEGINS_WITH; arity = 1; break;
                case "BETWEEN": kop = KeyConditionOperator.BETWEEN; arity = 2; break;
                default: throw DynamoErrors.Validation("Attempted conditional constraint is not an indexable operation");
            }

            if (values.Count != arity)
                throw DynamoErrors.Validation($"One or more parameter values were invalid: Invalid number of argument(s) for the {op} ComparisonOperator");
            result.Add(new KeyCondition(p.Name, kop, values));
        }

        return result;
    }

    internal static byte[] Component(AttrValue v, bool terminated = true)
    {
        var b = new byte[KeyCodec.ComponentLength(v)];
        var n = KeyCodec.EncodeComponent(v, b, terminated);
        return n == b.Length ? b : b[..n];
    }

    /// <summary>
    /// A per-thread bump buffer for the key bounds of one query, so they cost no arrays; a bound that does not fit
    /// gets its own array. Taken afresh by each query (the previous one's bounds are dead by then).
    /// </summary>
    private sealed class Bounds
    {
        [ThreadStatic]
        private static Bounds? t_bounds;

        private readonly byte[] _buffer = new byte[16 * 1024];
        private int _used;

        public static Bounds ForThread()
        {
            var b = t_bounds ??= new Bounds();
            b._used = 0;
            return b;
        }

        public Memory<byte> Take(int length)
        {
            if (_buffer.Length - _used < length) return new byte[length];
            var m = _buffer.AsMemory(_used, length);
            _used += length;
            return m;
        }

        public ReadOnlyMemory<byte> Concat(ReadOnlyMemory<byte> a, ReadOnlyMemory<byte> b)
        {
            var r = Take(a.Length + b.Length);
            a.Span.CopyTo(r.Span);
            b.Span.CopyTo(r.Span[a.Length..]);
            return r;
        }

        public ReadOnlyMemory<byte> Component(AttrValue v, bool terminated = true)
        {
            var r = Take(KeyCodec.ComponentLength(v));
            var n = KeyCodec.EncodeComponent(v, r.Span, terminated);
            return r[..n];
        }
    }
}
