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

        return RespondAsync(ctx, plans, admissions, unprocessed, returnCapacity, w);
    }

    /// <summary>
    /// Reads every admitted key and writes the response. Each table's keys are read on one session: those in memory are
    /// answered at once; those on disk are issued together and awaited together, with no thread waiting and no lock
    /// held, before the table's list closes. All in memory, this completes synchronously.
    /// </summary>
    private static async ValueTask RespondAsync(
        OperationContext ctx, List<Plan> plans, List<Admission>[] admissions, List<(Plan Plan, JsonElement Key)> unprocessed, string? returnCapacity, Utf8JsonWriter w)
    {
        using var buffer = new PooledBufferWriter(4096);
        ReadSlots? slots = null;
        long responseBytes = 0;
        var reader = ctx.Engine.Database.OpenReader();
        try
        {
            w.WriteStartObject();
            w.WriteStartObject("Responses"u8);
            for (var p = 0; p < plans.Count; p++)
            {
                var plan = plans[p];
                List<int>? onDisk = null;
                w.WriteStartArray(plan.Table.Definition.Name);
                for (var k = 0; k < plan.Keys.Count; k++)
                {
                    if (admissions[p][k].State == null || Unprocessed(ctx, plan, admissions[p][k], k, responseBytes, unprocessed)) continue;
                    buffer.Clear();
                    var read = reader.Read(plan.Keys[k].Key, buffer, k);
                    if (read == StoreRead.Pending) (onDisk ??= []).Add(k);
                    else responseBytes += Answer(ctx, plan, admissions[p][k], read == StoreRead.Found, buffer.WrittenSpan, w);
                }

                if (onDisk != null)
                {
                    slots ??= new ReadSlots();
                    slots.Reset(plan.Keys.Count);
                    await reader.CompletePendingAsync(slots).ConfigureAwait(false);
                    foreach (var k in onDisk)
                    {
                        if (Unprocessed(ctx, plan, admissions[p][k], k, responseBytes, unprocessed)) continue;
                        var found = slots.TryGet(k, out var stored);
                        responseBytes += Answer(ctx, plan, admissions[p][k], found, stored, w);
                    }
                }

                w.WriteEndArray();
            }
        }
        finally
        {
            reader.Dispose();
            slots?.Dispose();
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
    }

    /// <summary>Past the 16 MB response limit, a key goes back in UnprocessedKeys (its admission released).</summary>
    private static bool Unprocessed(OperationContext ctx, Plan plan, Admission admission, int k, long responseBytes, List<(Plan Plan, JsonElement Key)> unprocessed)
    {
        if (responseBytes < MaxResponseBytes) return false;
        ctx.Engine.Capacity.Release(admission);
        unprocessed.Add((plan, plan.Keys[k].Json));
        return true;
    }

    /// <summary>Settles one key's read and writes its item, if found; returns the item's size.</summary>
    private static int Answer(OperationContext ctx, Plan plan, Admission admission, bool found, ReadOnlySpan<byte> stored, Utf8JsonWriter w)
    {
        if (!found)
        {
            var missing = Capacity.ReadUnits(0, plan.Consistent);
            ctx.Engine.Capacity.Settle(admission, missing);
            plan.Units += missing;
            return 0;
        }

        var size = StoredValue.ItemSize(stored);
        var units = Capacity.ReadUnits(size, plan.Consistent);
        ctx.Engine.Capacity.Settle(admission, units);
        plan.Units += units;
        if (plan.Projection == null) ItemCodec.WriteJson(StoredValue.Item(stored), w);
        else AttrJson.WriteItem(w, plan.Projection.Apply(ItemCodec.Decode(StoredValue.Item(stored)), plan.Attributes));
        return size;
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
