using System.Text.Json;
using Serverless.Engine.Capacity;
using Serverless.Engine.Expressions;
using Serverless.Engine.Model;
using Serverless.Engine.Protocol;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Operations;

/// <summary>
/// BatchGetItem: up to 100 keys over several tables, each table with its own projection and consistency. Keys
/// refused by capacity and items past the 16 MB response limit are returned in UnprocessedKeys, as AWS does.
/// </summary>
internal static class BatchGetItem
{
    public const int MaxKeys = 100;
    public const long MaxResponseBytes = 16L * 1024 * 1024;

    public static ValueTask ExecuteAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var requestItems = Req.Map(req, "RequestItems");
        var errors = new ConstraintErrors();
        var returnCapacity = Req.String(req, "ReturnConsumedCapacity");
        errors.Enum("returnConsumedCapacity", returnCapacity, "INDEXES, TOTAL, NONE", "INDEXES", "TOTAL", "NONE");
        if (requestItems is null) errors.NotNull("requestItems", null);
        else if (!requestItems.Value.EnumerateObject().Any()) errors.Add("requestItems", "{}", "Member must have length greater than or equal to 1");
        errors.ThrowIfAny();

        var plans = new List<Plan>();
        var total = 0;
        foreach (var entry in requestItems!.Value.EnumerateObject())
        {
            Req.RequireObject(entry.Value, "KeysAndAttributes");
            var keysJson = Req.List(entry.Value, "Keys");
            var tableErrors = new ConstraintErrors();
            tableErrors.Name("requestItems.key", entry.Name);
            if (keysJson is null) tableErrors.NotNull($"requestItems.{entry.Name}.member.keys", null);
            else if (keysJson.Value.GetArrayLength() == 0) tableErrors.Add($"requestItems.{entry.Name}.member.keys", "[]", "Member must have length greater than or equal to 1");
            tableErrors.ThrowIfAny();
            total += keysJson!.Value.GetArrayLength();
            if (total > MaxKeys) throw DynamoErrors.Validation("Too many items requested for the BatchGetItem call");

            ItemRequest.CheckExpressionMix(entry.Value, ["AttributesToGet"], ["ProjectionExpression"], "ProjectionExpression is null");
            var attributes = ItemRequest.ReadExpressionAttributes(entry.Value);
            ProjectionExpression? projection = null;
            if (Req.String(entry.Value, "ProjectionExpression") is { } text) projection = ExpressionParser.ParseProjection(text, attributes);
            else if (Req.StringList(entry.Value, "AttributesToGet") is { Count: > 0 } names) projection = LegacyParameters.FromAttributesToGet(names);
            attributes.ThrowIfUnused();

            var table = Tables.RequireForDataPlane(ctx, entry.Name);
            var keys = new List<(byte[] Key, JsonElement Json)>();
            var seen = new HashSet<byte[]>(ByteArrayComparer.Instance);
            foreach (var k in keysJson.Value.EnumerateArray())
            {
                var (hash, range) = ItemRequest.ReadKey(k, table.Definition);
                var key = ItemRequest.EncodeKey(table.Number, hash, range);
                if (!seen.Add(key)) throw DynamoErrors.Validation("Provided list of item keys contains duplicates");
                keys.Add((key, k));
            }

            plans.Add(new Plan(table, entry.Value, keys, projection, attributes, Req.Bool(entry.Value, "ConsistentRead") ?? false));
        }

        if (ctx.ValidateOnly) return ValueTask.CompletedTask;

        // Each key is admitted on its own: the throttled ones go back in UnprocessedKeys, and a request of which none
        // can be processed is refused, as on AWS.
        var unprocessed = new List<(Plan Plan, JsonElement Key)>();
        var admissions = new List<Admission>[plans.Count];
        Refusal firstRefusal = default;
        var admitted = 0;
        for (var p = 0; p < plans.Count; p++)
        {
            var plan = plans[p];
            admissions[p] = new List<Admission>(plan.Keys.Count);
            foreach (var (key, json) in plan.Keys)
            {
                var refusal = ctx.Engine.Capacity.TryAdmitRead(plan.Table, null, key, Capacity.ReadUnits(0, plan.Consistent), out var admission);
                admissions[p].Add(admission);
                if (!refusal.Refused)
                {
                    admitted++;
                    continue;
                }

                if (!firstRefusal.Refused) firstRefusal = refusal;
                unprocessed.Add((plan, json));
            }
        }

        if (admitted == 0) throw CapacityGate.Throttled(firstRefusal);
        if (firstRefusal.Refused) CapacityGate.CountRequest(firstRefusal);

        using var buffer = new PooledBufferWriter(4096);
        long responseBytes = 0;
        w.WriteStartObject();
        w.WriteStartObject("Responses"u8);
        for (var p = 0; p < plans.Count; p++)
        {
            var plan = plans[p];
            w.WriteStartArray(plan.Table.Definition.Name);
            for (var k = 0; k < plan.Keys.Count; k++)
            {
                var (key, json) = plan.Keys[k];
                var admission = admissions[p][k];
                if (admission.State == null) continue;
                if (responseBytes >= MaxResponseBytes)
                {
                    ctx.Engine.Capacity.Release(admission);
                    unprocessed.Add((plan, json));
                    continue;
                }

                buffer.Clear();
                if (!ctx.Engine.Database.TryRead(key, buffer))
                {
                    var missing = Capacity.ReadUnits(0, plan.Consistent);
                    ctx.Engine.Capacity.Settle(admission, missing);
                    plan.Units += missing;
                    continue;
                }

                var size = StoredValue.ItemSize(buffer.WrittenSpan);
                responseBytes += size;
                var units = Capacity.ReadUnits(size, plan.Consistent);
                ctx.Engine.Capacity.Settle(admission, units);
                plan.Units += units;
                if (plan.Projection == null) ItemCodec.WriteJson(StoredValue.Item(buffer.WrittenSpan), w);
                else AttrJson.WriteItem(w, plan.Projection.Apply(ItemCodec.Decode(StoredValue.Item(buffer.WrittenSpan)), plan.Attributes));
            }

            w.WriteEndArray();
        }

        w.WriteEndObject();
        WriteUnprocessed(w, unprocessed);
        if (returnCapacity is "TOTAL" or "INDEXES")
        {
            w.WriteStartArray("ConsumedCapacity"u8);
            foreach (var plan in plans) Capacity.WriteEntry(w, returnCapacity, plan.Table.Definition.Name, plan.Units, isRead: true);
            w.WriteEndArray();
        }

        w.WriteEndObject();
        return ValueTask.CompletedTask;
    }

    /// <summary>Unprocessed keys go back with the table's original request members, so the caller can resend them as is.</summary>
    private static void WriteUnprocessed(Utf8JsonWriter w, List<(Plan Plan, JsonElement Key)> unprocessed)
    {
        w.WriteStartObject("UnprocessedKeys"u8);
        foreach (var group in unprocessed.GroupBy(u => u.Plan))
        {
            w.WriteStartObject(group.Key.Table.Definition.Name);
            foreach (var member in group.Key.Request.EnumerateObject())
            {
                if (member.NameEquals("Keys")) continue;
                member.WriteTo(w);
            }

            w.WriteStartArray("Keys"u8);
            foreach (var (_, key) in group) key.WriteTo(w);
            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndObject();
    }

    private sealed class Plan(TableState table, JsonElement request, List<(byte[] Key, JsonElement Json)> keys, ProjectionExpression? projection, ExpressionAttributes attributes, bool consistent)
    {
        public TableState Table { get; } = table;

        public JsonElement Request { get; } = request;

        public List<(byte[] Key, JsonElement Json)> Keys { get; } = keys;

        public ProjectionExpression? Projection { get; } = projection;

        public ExpressionAttributes Attributes { get; } = attributes;

        public bool Consistent { get; } = consistent;

        public double Units { get; set; }
    }
}
