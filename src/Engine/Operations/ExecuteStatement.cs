using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Serverless.Engine.PartiQL;
using Serverless.Engine.Protocol;

namespace Serverless.Engine.Operations;

/// <summary>
/// ExecuteStatement: one PartiQL statement. A SELECT runs as Query or Scan pages (several Queries for
/// <c>pk IN (...)</c>), paged with NextToken; a write runs as one PutItem, UpdateItem or DeleteItem (docs/partiql.md).
/// </summary>
internal static class ExecuteStatement
{
    public const int MaxStatementLength = 8192;

    public static async ValueTask ExecuteAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var text = Req.String(req, "Statement");
        var parametersJson = Req.List(req, "Parameters");
        var consistent = Req.Bool(req, "ConsistentRead") ?? false;
        var nextToken = Req.String(req, "NextToken");
        var errors = new ConstraintErrors();
        var returnCapacity = Req.String(req, "ReturnConsumedCapacity");
        errors.Enum("returnConsumedCapacity", returnCapacity, "INDEXES, TOTAL, NONE", "INDEXES", "TOTAL", "NONE");
        var onFailure = ItemRequest.ReadReturnValuesOnConditionCheckFailure(errors, req);
        CheckStatement(errors, "statement", text, parametersJson, "parameters");
        var limit = Req.Long(req, "Limit", "Integer");
        if (limit is < 1) errors.Add("limit", limit.Value.ToString(System.Globalization.CultureInfo.InvariantCulture), "Member must have value greater than or equal to 1");
        if (nextToken is { Length: 0 }) errors.Add("nextToken", nextToken, "Member must have length greater than or equal to 1");
        if (nextToken is { Length: > 32768 }) errors.Add("nextToken", nextToken, "Member must have length less than or equal to 32768");
        errors.ThrowIfAny();

        var statement = PqParser.Parse(text!);
        if (statement.Kind == PqKind.Exists) throw PqErrors.Validation(PqErrors.ExistsOutsideTransaction);
        var parameters = PqValues.ReadParameters(parametersJson);
        var table = PqPlanner.Prepare(ctx, statement, parameters);
        var capacity = returnCapacity is "TOTAL" or "INDEXES";

        if (statement.IsRead)
        {
            var plan = PqPlanner.PlanSelect(statement, table, parameters);
            if (consistent && plan.Index != null && table.Definition.FindIndex(plan.Index) is { Global: true })
                throw PqErrors.Validation(PqErrors.ConsistentReadOnGsi);
            await SelectAsync(ctx, plan, TokenHash(text!, parametersJson), nextToken, consistent, (int?)limit, capacity, returnCapacity, w).ConfigureAwait(false);
            return;
        }

        var write = PqPlanner.PlanWrite(statement, table, parameters);
        using var response = await WriteAsync(ctx, write, onFailure, capacity).ConfigureAwait(false);
        w.WriteStartObject();
        w.WriteStartArray("Items"u8);
        if (response.RootElement.TryGetProperty("Attributes"u8, out var attributes)) attributes.WriteTo(w);
        w.WriteEndArray();
        if (capacity) Capacity.Write(w, returnCapacity, write.Table, PqRunner.CapacityUnits(response.RootElement), isRead: false);
        w.WriteEndObject();
    }

    /// <summary>The member checks a statement has wherever it appears (ExecuteStatement and the members of the lists).</summary>
    public static void CheckStatement(ConstraintErrors errors, string path, string? text, JsonElement? parameters, string parametersPath)
    {
        if (text == null) errors.NotNull(path, null);
        else if (text.Length == 0) errors.Add(path, text, "Member must have length greater than or equal to 1");
        else if (text.Length > MaxStatementLength) errors.Add(path, text, "Member must have length less than or equal to 8192");
        if (parameters is { } p && p.GetArrayLength() == 0) errors.Add(parametersPath, "[]", "Member must have length greater than or equal to 1");
    }

    /// <summary>Runs an INSERT, UPDATE or DELETE as PutItem, UpdateItem or DeleteItem; an INSERT of an existing key is a DuplicateItemException.</summary>
    public static async ValueTask<JsonDocument> WriteAsync(OperationContext ctx, PqWritePlan plan, string? onFailure, bool capacity)
    {
        OperationHandler handler = plan.Kind switch
        {
            PqKind.Insert => PutItem.ExecuteAsync,
            PqKind.Update => UpdateItem.ExecuteAsync,
            _ => DeleteItem.ExecuteAsync,
        };
        try
        {
            return await PqRunner.RunAsync(ctx, handler, rw =>
            {
                rw.WriteStartObject();
                plan.WriteMembers(rw, transaction: false, plan.Kind == PqKind.Insert ? null : onFailure);
                if (capacity) rw.WriteString("ReturnConsumedCapacity"u8, "TOTAL");
                rw.WriteEndObject();
            }).ConfigureAwait(false);
        }
        catch (DynamoException e) when (plan.Kind == PqKind.Insert && e.ErrorType == "ConditionalCheckFailedException")
        {
            throw DynamoErrors.DuplicateItem();
        }
    }

    private static async ValueTask SelectAsync(OperationContext ctx, PqSelectPlan plan, string hash, string? nextToken, bool consistent, int? limit,
        bool capacity, string? returnCapacity, Utf8JsonWriter w)
    {
        var partition = 0;
        JsonElement? start = null;
        if (nextToken != null) (partition, start) = ReadToken(nextToken, hash, plan.PartitionCount);
        OperationHandler handler = plan.Parts == null ? Scan.ExecuteAsync : Query.ExecuteAsync;
        var remaining = limit;
        double units = 0;
        long pageBytes = 0;
        string? token = null;
        JsonElement? lastKey = null;
        w.WriteStartObject();
        w.WriteStartArray("Items"u8);
        for (; partition < plan.PartitionCount; partition++)
        {
            var p = partition;
            var s = start;
            var pageLimit = remaining;
            using var page = await PqRunner.RunAsync(ctx, handler, rw => plan.WriteRequest(rw, p, consistent, pageLimit, s, capacity)).ConfigureAwait(false);
            start = null;
            var root = page.RootElement;
            foreach (var item in root.GetProperty("Items"u8).EnumerateArray()) PqRunner.WriteItem(w, item, plan.NestedProjection);
            pageBytes += page.RootElement.GetProperty("Items"u8).GetRawText().Length;
            units += PqRunner.CapacityUnits(root);
            if (remaining != null) remaining -= root.GetProperty("ScannedCount"u8).GetInt32();
            if (root.TryGetProperty("LastEvaluatedKey"u8, out var last))
            {
                token = WriteToken(hash, partition, last);
                lastKey = last.Clone();
                break;
            }

            // A page ends at the Limit, or near 1 MB, as one Query's page does, also across the partitions of an IN.
            if ((remaining is <= 0 || pageBytes >= PageReader.MaxPageBytes) && partition + 1 < plan.PartitionCount)
            {
                token = WriteToken(hash, partition + 1, null);
                break;
            }
        }

        w.WriteEndArray();
        if (token != null) w.WriteString("NextToken"u8, token);
        if (lastKey is { } key)
        {
            w.WritePropertyName("LastEvaluatedKey"u8);
            key.WriteTo(w);
        }

        if (capacity) Capacity.Write(w, returnCapacity, plan.Table, units, isRead: true);
        w.WriteEndObject();
    }

    /// <summary>Ties a NextToken to its statement and parameters, so a token of another request is refused.</summary>
    private static string TokenHash(string text, JsonElement? parameters)
    {
        var bytes = Encoding.UTF8.GetBytes(parameters is { } p ? text + "\n" + p.GetRawText() : text);
        return Convert.ToHexString(SHA256.HashData(bytes), 0, 12);
    }

    /// <summary>NextToken: base64 of <c>{"h": hash, "p": partition, "k": LastEvaluatedKey}</c>.</summary>
    private static string WriteToken(string hash, int partition, JsonElement? lastKey)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var tw = new Utf8JsonWriter(buffer))
        {
            tw.WriteStartObject();
            tw.WriteString("h"u8, hash);
            tw.WriteNumber("p"u8, partition);
            if (lastKey is { } k)
            {
                tw.WritePropertyName("k"u8);
                k.WriteTo(tw);
            }

            tw.WriteEndObject();
        }

        return Convert.ToBase64String(buffer.WrittenSpan);
    }

    private static (int Partition, JsonElement? Start) ReadToken(string token, string hash, int partitions)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(Convert.FromBase64String(token));
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            throw PqErrors.Validation(PqErrors.InvalidNextToken);
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("h"u8, out var h) || h.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("p"u8, out var p) || !p.TryGetInt32(out var partition) || partition < 0 || partition >= partitions)
                throw PqErrors.Validation(PqErrors.InvalidNextToken);
            if (h.GetString() != hash) throw PqErrors.Validation(PqErrors.NextTokenMismatch);
            JsonElement? start = root.TryGetProperty("k"u8, out var k) && k.ValueKind == JsonValueKind.Object ? k.Clone() : null;
            return (partition, start);
        }
    }

    /// <summary>Reads one statement of a list member (BatchExecuteStatement, ExecuteTransaction).</summary>
    public static (string? Text, JsonElement? Parameters) ReadMember(JsonElement member, string typeName)
    {
        Req.RequireObject(member, typeName);
        return (Req.String(member, "Statement"), Req.List(member, "Parameters"));
    }

    /// <summary>Writes an item read by key, as a batch or transaction read returns it (projection applied).</summary>
    public static void WriteReadItem(Utf8JsonWriter w, JsonElement response, PqGetPlan plan)
    {
        if (!response.TryGetProperty("Item"u8, out var item)) return;
        w.WritePropertyName("Item"u8);
        PqRunner.WriteItem(w, item, plan.NestedProjection);
    }
}
