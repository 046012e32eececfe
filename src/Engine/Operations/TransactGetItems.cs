using System.Text.Json;
using Serverless.Engine.Capacity;
using Serverless.Engine.Expressions;
using Serverless.Engine.Model;
using Serverless.Engine.Protocol;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Operations;

/// <summary>
/// TransactGetItems: up to 100 Gets over any tables, read as one snapshot under the stripe locks of all the items
/// (<see cref="Database.ReadTransaction"/>), each with its own projection. An item held by an in-flight
/// transaction cancels the read with a TransactionConflict reason, as on AWS.
/// </summary>
internal static class TransactGetItems
{
    public static ValueTask ExecuteAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var list = Req.List(req, "TransactItems");
        var errors = new ConstraintErrors();
        var returnCapacity = Req.String(req, "ReturnConsumedCapacity");
        errors.Enum("returnConsumedCapacity", returnCapacity, "INDEXES, TOTAL, NONE", "INDEXES", "TOTAL", "NONE");
        TransactionRequest.CheckActionCount(errors, list, "TransactGetItem");
        if (errors.Any) errors.ThrowIfAny();

        var index = 0;
        var bodies = new List<JsonElement>();
        foreach (var element in list!.Value.EnumerateArray())
        {
            index++;
            Req.RequireObject(element, "TransactGetItem");
            var path = $"transactItems.{index}.member.get";
            if (Req.Object(element, "Get") is not { } get)
            {
                errors.NotNull(path, null);
                continue;
            }

            errors.Name(path + ".tableName", Req.String(get, "TableName"));
            errors.NotNull(path + ".key", Req.Map(get, "Key"));
            bodies.Add(get);
        }

        errors.ThrowIfAny();

        var gets = new List<Get>(bodies.Count);
        var keys = new List<byte[]>(bodies.Count);
        var seen = new HashSet<byte[]>(ByteArrayComparer.Instance);
        foreach (var get in bodies)
        {
            ItemRequest.CheckExpressionMix(get, [], ["ProjectionExpression"], "ProjectionExpression is null");
            var attributes = ItemRequest.ReadExpressionAttributes(get);
            ProjectionExpression? projection = null;
            if (Req.String(get, "ProjectionExpression") is { } text) projection = ExpressionParser.ParseProjection(text, attributes);
            attributes.ThrowIfUnused();
            var table = Tables.RequireForDataPlane(ctx, Req.String(get, "TableName")!);
            var (hash, range) = ItemRequest.ReadKey(Req.Map(get, "Key")!.Value, table.Definition);
            var key = ItemRequest.EncodeKey(table.Number, hash, range);
            if (!seen.Add(key)) throw DynamoErrors.Validation("Transaction request cannot include multiple operations on one item");
            gets.Add(new Get(table, projection, attributes));
            keys.Add(key);
        }

        // The read is admitted as a whole (each item at twice the units of a strongly consistent read), or cancelled.
        var charges = new Charge[gets.Count];
        for (var i = 0; i < charges.Length; i++) charges[i] = new Charge(gets[i].Table, keys[i], 2 * Capacity.ReadUnits(0, consistent: true), Read: true, 0);
        var admissions = new Admission[charges.Length];
        var refusedAt = ctx.Engine.Capacity.TryAdmitAll(charges, admissions, out var refusal);
        if (refusedAt >= 0) throw CapacityGate.TransactionThrottled(charges.Length, refusedAt, refusal);

        // Items on disk are brought into memory first, no thread waiting, so the reads under the locks find them there.
        var warming = ctx.Engine.Database.WarmAsync(keys);
        if (!warming.IsCompletedSuccessfully) return RespondWhenWarmAsync(warming, ctx, gets, keys, admissions, returnCapacity, w);
        Respond(ctx, gets, keys, admissions, returnCapacity, w);
        return ValueTask.CompletedTask;
    }

    private static async ValueTask RespondWhenWarmAsync(
        ValueTask warming, OperationContext ctx, List<Get> gets, List<byte[]> keys, Admission[] admissions, string? returnCapacity, Utf8JsonWriter w)
    {
        await warming.ConfigureAwait(false);
        Respond(ctx, gets, keys, admissions, returnCapacity, w);
    }

    private static void Respond(OperationContext ctx, List<Get> gets, List<byte[]> keys, Admission[] admissions, string? returnCapacity, Utf8JsonWriter w)
    {
        var values = ctx.Engine.Database.ReadTransaction(keys, out var conflicts);
        if (values == null)
        {
            var reasons = new CancellationReason[conflicts.Length];
            for (var i = 0; i < reasons.Length; i++) reasons[i] = conflicts[i] ? CancellationReason.Conflict : CancellationReason.None;
            throw DynamoErrors.TransactionCanceled(reasons);
        }

        var usage = new TransactionCapacity();
        w.WriteStartObject();
        w.WriteStartArray("Responses"u8);
        for (var i = 0; i < gets.Count; i++)
        {
            var (table, projection, attributes) = gets[i];
            var stored = values[i];
            var units = Capacity.ReadUnits(stored == null ? 0 : StoredValue.ItemSize(stored), consistent: true);
            ctx.Engine.Capacity.Settle(admissions[i], 2 * units);
            usage.AddRead(table.Definition.Name, units);
            w.WriteStartObject();
            if (stored != null)
            {
                w.WritePropertyName("Item"u8);
                if (projection == null) ItemCodec.WriteJson(StoredValue.Item(stored), w);
                else AttrJson.WriteItem(w, projection.Apply(ItemCodec.Decode(StoredValue.Item(stored)), attributes));
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
        if (returnCapacity is "TOTAL" or "INDEXES") usage.Write(w, returnCapacity);
        w.WriteEndObject();
    }

    private sealed record Get(TableState Table, ProjectionExpression? Projection, ExpressionAttributes Attributes);
}
