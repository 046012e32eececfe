using System.Text;
using System.Text.Json;
using Serverless.Engine.Expressions;
using Serverless.Engine.Model;
using Serverless.Engine.Operations;
using Serverless.Engine.Storage;

namespace Serverless.Engine.PartiQL;

/// <summary>
/// Applies a table's key schema to a parsed statement and the request's parameters, producing the JSON API request
/// (or requests) that do the work: SELECT becomes Query (the partition key fixed by = or IN) or Scan, or GetItem
/// in batches and transactions; INSERT a PutItem under <c>attribute_not_exists</c>; UPDATE an UpdateItem under
/// <c>attribute_exists</c>; DELETE a DeleteItem; EXISTS a transaction ConditionCheck. docs/partiql.md describes the mapping.
/// </summary>
internal static class PqPlanner
{
    /// <summary>Checks the parameter count and the table name, then finds the table (ResourceNotFound when absent).</summary>
    public static TableState Prepare(OperationContext ctx, PqStatement statement, IReadOnlyList<AttrValue> parameters)
    {
        if (parameters.Count < statement.ParameterCount) throw PqErrors.Validation(PqErrors.ParameterCount);
        if (statement.Table.Length is < 3 or > 255 || !ConstraintErrors.IsValidName(statement.Table)) throw PqErrors.Validation(PqErrors.InvalidTableName);
        return Tables.RequireForDataPlane(ctx, statement.Table);
    }

    // ---- SELECT

    public static PqSelectPlan PlanSelect(PqStatement s, TableState table, IReadOnlyList<AttrValue> parameters)
    {
        var definition = table.Definition;
        KeyAttribute hashKey = definition.HashKey;
        var rangeKey = definition.RangeKey;
        var multiAttribute = false; // an index with a multi-attribute key is read by a Scan with the WHERE as filter
        if (s.Index != null)
        {
            var index = definition.FindIndex(s.Index) ?? throw Protocol.DynamoErrors.Validation(
                $"The table does not have the specified index: {s.Index}");
            hashKey = index.HashKey;
            rangeKey = index.RangeKey;
            multiAttribute = index.MultiAttribute;
        }

        // Nested paths are picked from the whole item: a ProjectionExpression would compact the lists they index.
        IReadOnlyList<PqPath>? nested = null, topLevel = null;
        if (s.Projection is { } projection)
        {
            if (IsNested(projection)) nested = projection;
            else topLevel = projection;
        }

        var parts = multiAttribute ? null : PlanQueries(s.Where, hashKey, rangeKey, topLevel, parameters);
        var text = new PqExpressionText();
        var plan = new PqSelectPlan { Table = definition.Name, Index = s.Index, Text = text, Parts = parts, NestedProjection = nested };
        if (parts == null)
        {
            if (s.Where != null) plan.Filter = PqRenderer.Condition(s.Where, text, parameters);
            if (topLevel != null) plan.Projection = ProjectionText(topLevel, text);
        }

        if (s.OrderBy is { } orderBy)
        {
            if (s.Where == null) throw PqErrors.Validation(PqErrors.OrderByWithoutWhere);
            if (parts == null) throw PqErrors.Validation(PqErrors.OrderByWithoutHashKey);
            bool? sortDescending = null, hashDescending = null;
            foreach (var o in orderBy)
            {
                if (o.Name == hashKey.Name) hashDescending ??= o.Descending;
                else if (o.Name == rangeKey?.Name) sortDescending ??= o.Descending;
                else throw PqErrors.OrderByNotKey(o.Name);
            }

            if (parts.Count > 1 && hashDescending == null) throw PqErrors.Validation(PqErrors.OrderByHashKeyNeeded);
            plan.Forward = sortDescending != true;
            if (parts.Count > 1)
            {
                parts.Sort((a, b) => Evaluator.Compare(a.Partition, b.Partition) ?? 0);
                if (hashDescending == true) parts.Reverse();
            }
        }

        return plan;
    }

    /// <summary>
    /// The Queries a WHERE clause decomposes into: one per partition value fixed by <c>pk = v</c> or <c>pk IN (...)</c>,
    /// also in each branch of a top-level OR. Null when some branch leaves the partition open (the SELECT is a Scan).
    /// Branches on one partition merge when none has a sort-key condition; a mix is refused as AWS refuses it. Each
    /// Query gets placeholders of its own, since the JSON API refuses values a request does not use.
    /// </summary>
    private static List<PqQueryPart>? PlanQueries(PqExpr? where, KeyAttribute hashKey, KeyAttribute? rangeKey, IReadOnlyList<PqPath>? projection,
        IReadOnlyList<AttrValue> parameters)
    {
        if (where == null) return null;
        var branches = new List<PqExpr>();
        FlattenOr(where, branches);
        var planned = new List<(List<AttrValue> Partitions, PqExpr? Sort, List<PqExpr> Others)>(branches.Count);
        foreach (var branch in branches)
        {
            if (PlanBranch(Conjuncts(branch), hashKey, rangeKey, parameters) is not { } b) return null;
            planned.Add(b);
        }

        var groups = new Dictionary<AttrValue, List<int>>();
        var order = new List<AttrValue>();
        for (var i = 0; i < planned.Count; i++)
        {
            foreach (var v in planned[i].Partitions)
            {
                if (!groups.TryGetValue(v, out var list))
                {
                    groups[v] = list = [];
                    order.Add(v);
                }

                list.Add(i);
            }
        }

        var parts = new List<PqQueryPart>(order.Count);
        foreach (var v in order)
        {
            var members = groups[v];
            var withSort = 0;
            var unfiltered = false;
            foreach (var m in members)
            {
                if (planned[m].Sort != null) withSort++;
                unfiltered |= planned[m].Others.Count == 0;
            }

            if (members.Count > 1 && withSort > 0 && withSort < members.Count) throw PqErrors.Validation(PqErrors.OverlappingRangeConditions);
            if (members.Count > 1 && withSort > 0) return null; // several ranges of one partition: read it whole, filtered, rather than twice

            var text = new PqExpressionText();
            var key = new StringBuilder(text.Name(hashKey.Name)).Append(" = :pk");
            if (planned[members[0]].Sort is { } sort) key.Append(" AND ").Append(SortCondition(sort, rangeKey!, text, parameters));
            string? filter = null;
            if (!unfiltered)
            {
                var sb = new StringBuilder();
                foreach (var m in members)
                {
                    if (sb.Length > 0) sb.Append(" OR ");
                    sb.Append(PqRenderer.Conjunction(planned[m].Others, text, parameters));
                }

                filter = sb.ToString();
            }

            parts.Add(new PqQueryPart(v, key.ToString(), filter, projection == null ? null : ProjectionText(projection, text), text));
        }

        return parts;
    }

    /// <summary>One AND branch: its partition values, its conjunct on the sort key that a key condition holds, and the rest.</summary>
    private static (List<AttrValue> Partitions, PqExpr? Sort, List<PqExpr> Others)? PlanBranch(List<PqExpr> conjuncts, KeyAttribute hashKey,
        KeyAttribute? rangeKey, IReadOnlyList<AttrValue> parameters)
    {
        List<AttrValue>? partitions = null;
        for (var i = 0; i < conjuncts.Count && partitions == null; i++)
        {
            if (KeyEquality(conjuncts[i], hashKey.Name, parameters) is { } v) partitions = [v];
            else if (conjuncts[i] is PqIn { Operand: PqPath p } inList && p.TopLevelName == hashKey.Name && Values(inList.Values, parameters) is { } values)
                partitions = Distinct(values);
            else continue;
            conjuncts.RemoveAt(i);
        }

        if (partitions == null) return null;
        foreach (var v in partitions) CheckKeyType(hashKey, v);
        PqExpr? sort = null;
        if (rangeKey != null)
        {
            var scratch = new PqExpressionText();
            for (var i = 0; i < conjuncts.Count && sort == null; i++)
            {
                if (SortCondition(conjuncts[i], rangeKey, scratch, parameters) == null) continue;
                sort = conjuncts[i];
                conjuncts.RemoveAt(i);
            }
        }

        return (partitions, sort, conjuncts);
    }

    private static void FlattenOr(PqExpr e, List<PqExpr> list)
    {
        if (e is PqOr o)
        {
            FlattenOr(o.Left, list);
            FlattenOr(o.Right, list);
        }
        else list.Add(e);
    }

    private static bool IsNested(IReadOnlyList<PqPath> projection)
    {
        foreach (var p in projection)
            if (p.TopLevelName == null) return true;
        return false;
    }

    private static string ProjectionText(IReadOnlyList<PqPath> projection, PqExpressionText text)
    {
        var sb = new StringBuilder();
        foreach (var p in projection)
        {
            if (sb.Length > 0) sb.Append(", ");
            text.AppendPath(sb, p);
        }

        return sb.ToString();
    }

    /// <summary>
    /// A SELECT that names the whole primary key of the table (batches and transactions): the key, and the projection.
    /// Returns null when the WHERE clause does not fix every key attribute by equality, or holds anything else.
    /// </summary>
    public static PqGetPlan? PlanGet(PqStatement s, TableState table, IReadOnlyList<AttrValue> parameters)
    {
        var conjuncts = Conjuncts(s.Where);
        var key = TakeKey(conjuncts, table.Definition, parameters);
        if (key == null || conjuncts.Count > 0) return null;
        var plan = new PqGetPlan { Table = table.Definition.Name, Key = key, Text = new PqExpressionText() };
        if (s.Projection is { } projection)
        {
            if (IsNested(projection)) plan.NestedProjection = projection;
            else plan.Projection = ProjectionText(projection, plan.Text);
        }

        return plan;
    }

    // ---- writes

    public static PqWritePlan PlanWrite(PqStatement s, TableState table, IReadOnlyList<AttrValue> parameters)
    {
        var definition = table.Definition;
        var text = new PqExpressionText();
        var plan = new PqWritePlan { Kind = s.Kind, Table = definition.Name, Text = text, Returning = s.Returning };
        if (s.Kind == PqKind.Insert)
        {
            var item = PqValues.Build(s.Value!, parameters);
            if (item.Type != AttrType.M) throw PqErrors.Validation(PqErrors.InsertNotTuple);
            foreach (var key in KeyAttributes(definition))
            {
                if (!item.M.TryGetValue(key.Name, out var v)) throw PqErrors.KeyAbsent(key.Name);
                CheckKeyType(key, v);
            }

            plan.Item = item;
            plan.Condition = "attribute_not_exists(" + text.Name(definition.HashKey.Name) + ")";
            return plan;
        }

        var conjuncts = Conjuncts(s.Where);
        plan.Key = TakeKey(conjuncts, definition, parameters)
            ?? throw PqErrors.Validation(s.Kind == PqKind.Exists ? PqErrors.TransactionExistsKey : PqErrors.IncompleteKey);
        if (s.Kind == PqKind.Update) plan.Update = RenderUpdate(s.Actions!, text, parameters);
        var rest = PqRenderer.Conjunction(conjuncts, text, parameters);
        if (s.Kind == PqKind.Delete)
        {
            // A missing item is deleted without evaluating the condition, as on AWS.
            if (rest != null) plan.Condition = $"attribute_not_exists({text.Name(definition.HashKey.Name)}) OR {rest}";
        }
        else
        {
            // UPDATE and EXISTS need the item: an UPDATE of a missing item fails its condition, as on AWS.
            var exists = $"attribute_exists({text.Name(definition.HashKey.Name)})";
            plan.Condition = rest == null ? exists : exists + " AND " + rest;
        }

        return plan;
    }

    private static string RenderUpdate(IReadOnlyList<PqUpdateAction> actions, PqExpressionText text, IReadOnlyList<AttrValue> parameters)
    {
        StringBuilder? set = null, remove = null, add = null, delete = null;
        foreach (var a in actions)
        {
            if (a.Value == null)
            {
                Clause(ref remove).Append(text.Path(a.Target));
                continue;
            }

            if (a.Value is PqCall { Name: "set_add" or "set_delete" } call)
            {
                var op = call.Name == "set_add" ? "ADD" : "DELETE";
                if (call.Args.Count != 2) throw PqErrors.SetFunctionArgs(op);
                if (call.Args[0] is not PqPath first || !first.Steps.SequenceEqual(a.Target.Steps)) throw PqErrors.SetFunctionFirstArg(op);
                if (PqValues.TryBuild(call.Args[1], parameters) is not { IsSet: true } value) throw PqErrors.SetFunctionSecondArg(op);
                var clause = Clause(ref op == "ADD" ? ref add : ref delete);
                clause.Append(text.Path(a.Target)).Append(' ').Append(text.Value(value));
                continue;
            }

            var sb = Clause(ref set);
            sb.Append(text.Path(a.Target)).Append(" = ");
            PqRenderer.AppendOperand(sb, a.Value, text, parameters, setValue: true);
        }

        var result = new StringBuilder();
        if (set != null) result.Append("SET ").Append(set).Append(' ');
        if (remove != null) result.Append("REMOVE ").Append(remove).Append(' ');
        if (add != null) result.Append("ADD ").Append(add).Append(' ');
        if (delete != null) result.Append("DELETE ").Append(delete);
        return result.ToString().TrimEnd();
    }

    private static StringBuilder Clause(ref StringBuilder? clause)
    {
        if (clause == null) clause = new StringBuilder();
        else clause.Append(", ");
        return clause;
    }

    // ---- key matching

    private static List<PqExpr> Conjuncts(PqExpr? where)
    {
        var list = new List<PqExpr>();
        if (where != null) Flatten(where, list);
        return list;
    }

    private static void Flatten(PqExpr e, List<PqExpr> list)
    {
        if (e is PqAnd a)
        {
            Flatten(a.Left, list);
            Flatten(a.Right, list);
        }
        else list.Add(e);
    }

    private static IEnumerable<KeyAttribute> KeyAttributes(TableDefinition definition)
    {
        yield return definition.HashKey;
        if (definition.RangeKey != null) yield return definition.RangeKey;
    }

    /// <summary>Removes the key equalities from <paramref name="conjuncts"/> and returns the key, or null when one is missing.</summary>
    private static Dictionary<string, AttrValue>? TakeKey(List<PqExpr> conjuncts, TableDefinition definition, IReadOnlyList<AttrValue> parameters)
    {
        var key = new Dictionary<string, AttrValue>(2, StringComparer.Ordinal);
        foreach (var attribute in KeyAttributes(definition))
        {
            var found = false;
            for (var i = 0; i < conjuncts.Count; i++)
            {
                if (KeyEquality(conjuncts[i], attribute.Name, parameters) is not { } v) continue;
                CheckKeyType(attribute, v);
                key[attribute.Name] = v;
                conjuncts.RemoveAt(i);
                found = true;
                break;
            }

            if (!found) return null;
        }

        return key;
    }

    /// <summary>The value of <c>name = value</c> (either way round), else null.</summary>
    private static AttrValue? KeyEquality(PqExpr e, string name, IReadOnlyList<AttrValue> parameters)
    {
        if (e is not PqBinary { Op: "=" } b) return null;
        if (b.Left is PqPath l && l.TopLevelName == name) return PqValues.TryBuild(b.Right, parameters);
        if (b.Right is PqPath r && r.TopLevelName == name) return PqValues.TryBuild(b.Left, parameters);
        return null;
    }

    private static List<AttrValue>? Values(IReadOnlyList<PqExpr> list, IReadOnlyList<AttrValue> parameters)
    {
        var values = new List<AttrValue>(list.Count);
        foreach (var e in list)
        {
            if (PqValues.TryBuild(e, parameters) is not { } v) return null;
            values.Add(v);
        }

        return values;
    }

    private static List<AttrValue> Distinct(List<AttrValue> values)
    {
        var seen = new HashSet<AttrValue>();
        var result = new List<AttrValue>(values.Count);
        foreach (var v in values)
            if (seen.Add(v)) result.Add(v);
        return result;
    }

    /// <summary>A condition on the sort key that a key condition can carry, rendered; null for any other conjunct.</summary>
    private static string? SortCondition(PqExpr e, KeyAttribute rangeKey, PqExpressionText text, IReadOnlyList<AttrValue> parameters)
    {
        switch (e)
        {
            case PqBinary { Op: "=" or "<" or "<=" or ">" or ">=" } b:
            {
                var op = b.Op;
                AttrValue? value;
                if (b.Left is PqPath l && l.TopLevelName == rangeKey.Name) value = PqValues.TryBuild(b.Right, parameters);
                else if (b.Right is PqPath r && r.TopLevelName == rangeKey.Name)
                {
                    value = PqValues.TryBuild(b.Left, parameters);
                    op = op switch { "<" => ">", "<=" => ">=", ">" => "<", ">=" => "<=", _ => op };
                }
                else return null;

                if (value == null) return null;
                if (AttrTypeNames.Name(value.Type) != rangeKey.Type)
                {
                    if (op == "=") CheckKeyType(rangeKey, value);
                    return null;
                }

                return $"{text.Name(rangeKey.Name)} {op} {text.Value(value)}";
            }

            case PqBetween { Operand: PqPath p } b when p.TopLevelName == rangeKey.Name:
            {
                if (PqValues.TryBuild(b.Low, parameters) is not { } low || PqValues.TryBuild(b.High, parameters) is not { } high) return null;
                if (AttrTypeNames.Name(low.Type) != rangeKey.Type || AttrTypeNames.Name(high.Type) != rangeKey.Type) return null;
                if (Evaluator.Compare(low, high) is > 0) return null;
                return $"{text.Name(rangeKey.Name)} BETWEEN {text.Value(low)} AND {text.Value(high)}";
            }

            case PqCall { Name: "begins_with", Args: [PqPath p, var prefixExpr] } when p.TopLevelName == rangeKey.Name && rangeKey.Type != "N":
            {
                if (PqValues.TryBuild(prefixExpr, parameters) is not { } prefix || AttrTypeNames.Name(prefix.Type) != rangeKey.Type) return null;
                return $"begins_with({text.Name(rangeKey.Name)}, {text.Value(prefix)})";
            }

            default:
                return null;
        }
    }

    private static void CheckKeyType(KeyAttribute key, AttrValue value)
    {
        if (AttrTypeNames.Name(value.Type) != key.Type) throw PqErrors.SchemaKeyMismatch(key.Name);
    }
}

/// <summary>A SELECT as one Query per partition value, or one Scan.</summary>
internal sealed class PqSelectPlan
{
    public required string Table { get; init; }

    public string? Index { get; init; }

    /// <summary>The Scan's placeholders.</summary>
    public required PqExpressionText Text { get; init; }

    /// <summary>The Queries, in the order they are read; null for a Scan.</summary>
    public List<PqQueryPart>? Parts { get; init; }

    /// <summary>The Scan's filter.</summary>
    public string? Filter { get; set; }

    /// <summary>The Scan's ProjectionExpression.</summary>
    public string? Projection { get; set; }

    /// <summary>A projection with nested paths, applied to the full items (each leaf named by its last name).</summary>
    public IReadOnlyList<PqPath>? NestedProjection { get; init; }

    public bool Forward { get; set; } = true;

    public int PartitionCount => Parts?.Count ?? 1;

    /// <summary>Writes the Query (or Scan) request for partition <paramref name="partition"/>.</summary>
    public void WriteRequest(Utf8JsonWriter w, int partition, bool consistent, int? limit, JsonElement? exclusiveStartKey, bool capacity)
    {
        w.WriteStartObject();
        w.WriteString("TableName"u8, Table);
        if (Index != null) w.WriteString("IndexName"u8, Index);
        var part = Parts?[partition];
        if (part != null) w.WriteString("KeyConditionExpression"u8, part.KeyCondition);
        if ((part == null ? Filter : part.Filter) is { } filter) w.WriteString("FilterExpression"u8, filter);
        if ((part == null ? Projection : part.Projection) is { } projection) w.WriteString("ProjectionExpression"u8, projection);
        if (!Forward) w.WriteBoolean("ScanIndexForward"u8, false);
        if (consistent) w.WriteBoolean("ConsistentRead"u8, true);
        if (limit is { } l) w.WriteNumber("Limit"u8, l);
        if (capacity) w.WriteString("ReturnConsumedCapacity"u8, "TOTAL");
        if (exclusiveStartKey is { } start)
        {
            w.WritePropertyName("ExclusiveStartKey"u8);
            start.WriteTo(w);
        }

        (part?.Text ?? Text).Write(w, part?.Partition);
        w.WriteEndObject();
    }
}

/// <summary>One Query of a SELECT: the partition value (<c>:pk</c>), its expressions, and their placeholders.</summary>
internal sealed record PqQueryPart(AttrValue Partition, string KeyCondition, string? Filter, string? Projection, PqExpressionText Text);

/// <summary>A SELECT of one item by its full key (BatchExecuteStatement and ExecuteTransaction reads).</summary>
internal sealed class PqGetPlan
{
    public required string Table { get; init; }

    public required Dictionary<string, AttrValue> Key { get; init; }

    public required PqExpressionText Text { get; init; }

    public string? Projection { get; set; }

    public IReadOnlyList<PqPath>? NestedProjection { get; set; }

    /// <summary>The members of a GetItem request, or of a TransactGetItems Get.</summary>
    public void WriteMembers(Utf8JsonWriter w)
    {
        w.WriteString("TableName"u8, Table);
        w.WritePropertyName("Key"u8);
        AttrJson.WriteItem(w, Key);
        if (Projection != null) w.WriteString("ProjectionExpression"u8, Projection);
        Text.Write(w);
    }
}

/// <summary>An INSERT, UPDATE, DELETE or EXISTS as the body of PutItem, UpdateItem, DeleteItem or ConditionCheck.</summary>
internal sealed class PqWritePlan
{
    public required PqKind Kind { get; init; }

    public required string Table { get; init; }

    public required PqExpressionText Text { get; init; }

    public PqReturning Returning { get; init; }

    public AttrValue? Item { get; set; }

    public Dictionary<string, AttrValue>? Key { get; set; }

    public string? Update { get; set; }

    public string? Condition { get; set; }

    /// <summary>The JSON API ReturnValues the RETURNING clause asks for.</summary>
    public string? ReturnValues => Returning switch
    {
        PqReturning.AllOld => "ALL_OLD",
        PqReturning.ModifiedOld => "UPDATED_OLD",
        PqReturning.AllNew => "ALL_NEW",
        PqReturning.ModifiedNew => "UPDATED_NEW",
        _ => null,
    };

    /// <summary>The request members; <paramref name="transaction"/> leaves out ReturnValues, which transactions do not take.</summary>
    public void WriteMembers(Utf8JsonWriter w, bool transaction, string? returnValuesOnConditionCheckFailure)
    {
        w.WriteString("TableName"u8, Table);
        if (Item != null)
        {
            w.WritePropertyName("Item"u8);
            AttrJson.WriteItem(w, Item.M);
        }

        if (Key != null)
        {
            w.WritePropertyName("Key"u8);
            AttrJson.WriteItem(w, Key);
        }

        if (Update != null) w.WriteString("UpdateExpression"u8, Update);
        if (Condition != null) w.WriteString("ConditionExpression"u8, Condition);
        if (!transaction && ReturnValues is { } rv) w.WriteString("ReturnValues"u8, rv);
        if (returnValuesOnConditionCheckFailure != null) w.WriteString("ReturnValuesOnConditionCheckFailure"u8, returnValuesOnConditionCheckFailure);
        Text.Write(w);
    }
}
