using System.Text.Json;
using Serverless.Engine.PartiQL;
using Serverless.Engine.Protocol;

namespace Serverless.Engine.Operations;

/// <summary>
/// BatchExecuteStatement: up to 25 statements, all reads (SELECT of one item by its full key, as GetItem) or all
/// writes, each run on its own. A failing statement gets an <c>Error</c> in its place of <c>Responses</c>; the
/// request itself succeeds. Not atomic: ExecuteTransaction is.
/// </summary>
internal static class BatchExecuteStatement
{
    public const int MaxStatements = 25;

    /// <summary>Not found in AWS's documentation or in any emulator's recorded answers (docs/partiql.md).</summary>
    public const string MixedMessage = "Unsupported operation: A batch must consist of either read statements or write statements, you cannot mix both in one batch.";

    public static async ValueTask ExecuteAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var list = Req.List(req, "Statements");
        var errors = new ConstraintErrors();
        var returnCapacity = Req.String(req, "ReturnConsumedCapacity");
        errors.Enum("returnConsumedCapacity", returnCapacity, "INDEXES, TOTAL, NONE", "INDEXES", "TOTAL", "NONE");
        if (list is not { } statements) errors.NotNull("statements", null);
        else
        {
            var count = statements.GetArrayLength();
            if (count == 0) errors.Add("statements", "[]", "Member must have length greater than or equal to 1");
            if (count > MaxStatements) errors.Add("statements", statements.GetRawText(), "Member must have length less than or equal to 25");
            var i = 0;
            foreach (var member in statements.EnumerateArray())
            {
                i++;
                var (text, parameters) = ExecuteStatement.ReadMember(member, "BatchStatementRequest");
                ExecuteStatement.CheckStatement(errors, $"statements.{i}.member.statement", text, parameters, $"statements.{i}.member.parameters");
                ItemRequest.ReadReturnValuesOnConditionCheckFailure(errors, member);
            }
        }

        errors.ThrowIfAny();

        // Parse first: a batch of reads and writes is refused as a whole; a statement that does not parse fails alone.
        var members = new List<JsonElement>();
        var parsed = new List<(PqStatement? Statement, DynamoException? Error)>();
        bool anyRead = false, anyWrite = false;
        foreach (var member in list!.Value.EnumerateArray())
        {
            members.Add(member);
            try
            {
                var s = PqParser.Parse(Req.String(member, "Statement")!);
                parsed.Add((s, null));
                if (s.IsRead) anyRead = true;
                else anyWrite = true;
            }
            catch (DynamoException e)
            {
                parsed.Add((null, e));
            }
        }

        if (anyRead && anyWrite) throw DynamoErrors.Validation(MixedMessage);

        var capacity = returnCapacity is "TOTAL" or "INDEXES";
        var units = new Dictionary<string, double>(StringComparer.Ordinal);
        w.WriteStartObject();
        w.WriteStartArray("Responses"u8);
        for (var i = 0; i < members.Count; i++)
        {
            w.WriteStartObject();
            try
            {
                if (parsed[i].Error is { } parseError) throw parseError;
                await RunOneAsync(ctx, parsed[i].Statement!, members[i], capacity, units, w).ConfigureAwait(false);
            }
            catch (DynamoException e)
            {
                w.WriteStartObject("Error"u8);
                w.WriteString("Code"u8, PqRunner.BatchErrorCode(e));
                w.WriteString("Message"u8, e.Message);
                e.WriteExtraMembers?.Invoke(w);
                w.WriteEndObject();
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
        if (capacity && returnCapacity != null)
        {
            w.WriteStartArray("ConsumedCapacity"u8);
            foreach (var (table, u) in units) Capacity.WriteEntry(w, returnCapacity, table, u, isRead: anyRead);
            w.WriteEndArray();
        }

        w.WriteEndObject();
    }

    /// <summary>Runs one statement and writes its members (TableName, Item); throws what the statement fails with.</summary>
    private static async ValueTask RunOneAsync(OperationContext ctx, PqStatement statement, JsonElement member, bool capacity,
        Dictionary<string, double> units, Utf8JsonWriter w)
    {
        if (statement.Kind == PqKind.Exists) throw PqErrors.Validation(PqErrors.ExistsOutsideTransaction);
        var parameters = PqValues.ReadParameters(Req.List(member, "Parameters"));
        var table = PqPlanner.Prepare(ctx, statement, parameters);
        JsonDocument response;
        if (statement.IsRead)
        {
            if (statement.Index != null) throw PqErrors.Validation(PqErrors.OperationOnIndex);
            var plan = PqPlanner.PlanGet(statement, table, parameters) ?? throw PqErrors.Validation(PqErrors.IncompleteKey);
            var consistent = Req.Bool(member, "ConsistentRead") ?? false;
            response = await PqRunner.RunAsync(ctx, GetItem.ExecuteAsync, rw =>
            {
                rw.WriteStartObject();
                plan.WriteMembers(rw);
                if (consistent) rw.WriteBoolean("ConsistentRead"u8, true);
                if (capacity) rw.WriteString("ReturnConsumedCapacity"u8, "TOTAL");
                rw.WriteEndObject();
            }).ConfigureAwait(false);
            using (response)
            {
                w.WriteString("TableName"u8, plan.Table);
                ExecuteStatement.WriteReadItem(w, response.RootElement, plan);
                Add(units, plan.Table, PqRunner.CapacityUnits(response.RootElement));
            }

            return;
        }

        var write = PqPlanner.PlanWrite(statement, table, parameters);
        using (response = await ExecuteStatement.WriteAsync(ctx, write, Req.String(member, "ReturnValuesOnConditionCheckFailure"), capacity).ConfigureAwait(false))
        {
            w.WriteString("TableName"u8, write.Table);
            if (response.RootElement.TryGetProperty("Attributes"u8, out var attributes))
            {
                w.WritePropertyName("Item"u8);
                attributes.WriteTo(w);
            }

            Add(units, write.Table, PqRunner.CapacityUnits(response.RootElement));
        }
    }

    private static void Add(Dictionary<string, double> units, string table, double u) =>
        units[table] = units.GetValueOrDefault(table) + u;
}
