using System.Buffers;
using System.Text.Json;
using Serverless.Engine.Capacity;
using Serverless.Engine.Expressions;
using Serverless.Engine.Model;
using Serverless.Engine.Protocol;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Operations;

/// <summary>
/// BatchWriteItem: up to 25 puts and deletes over several tables. The whole request is validated first (any
/// error rejects it all, as on AWS); each write is then atomic on its own and goes through the change log like a
/// single write, and all of them share group commits. Nothing is ever left unprocessed.
/// </summary>
internal static class BatchWriteItem
{
    public const int MaxRequests = 25;

    public static async ValueTask ExecuteAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var requestItems = Req.Map(req, "RequestItems");
        var errors = new ConstraintErrors();
        ItemRequest.CheckCommonEnums(errors, req, out var returnCapacity, out var returnMetrics);
        if (requestItems is null) errors.NotNull("requestItems", null);
        else if (!requestItems.Value.EnumerateObject().Any()) errors.Add("requestItems", "{}", "Member must have length greater than or equal to 1");
        errors.ThrowIfAny();

        var total = 0;
        foreach (var entry in requestItems!.Value.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Array) throw DynamoErrors.Serialization("Unexpected field type");
            var count = entry.Value.GetArrayLength();
            total += count;
            if (count == 0 || count > MaxRequests)
                throw DynamoErrors.Validation("1 validation error detected: Value '{" + entry.Name + "=[...]}' at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 25, Member must have length greater than or equal to 1]");
        }

        if (total > MaxRequests)
            throw DynamoErrors.Validation("1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 25, Member must have length greater than or equal to 1]");

        var items = new List<Item>();
        foreach (var entry in requestItems.Value.EnumerateObject())
        {
            var tableErrors = new ConstraintErrors();
            tableErrors.Name("requestItems.key", entry.Name);
            tableErrors.ThrowIfAny();
            var seen = new HashSet<byte[]>(ByteArrayComparer.Instance);
            var pending = new List<(byte[] Key, ConditionalMutation Mutation, double Estimate, JsonElement Request)>();
            foreach (var request in entry.Value.EnumerateArray())
            {
                Req.RequireObject(request, "WriteRequest");
                var put = Req.Object(request, "PutRequest");
                var delete = Req.Object(request, "DeleteRequest");
                if ((put is null) == (delete is null))
                    throw DynamoErrors.Validation("Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes");
                var (key, mutation, estimate) = put is { } p ? PreparePut(ctx, entry.Name, p, seen) : PrepareDelete(ctx, entry.Name, delete!.Value, seen);
                pending.Add((key, mutation, estimate, request));
            }

            var table = Tables.RequireForDataPlane(ctx, entry.Name);
            foreach (var (key, mutation, estimate, request) in pending)
            {
                var mask = mutation is Put put ? IndexMask.ForPut(table, put.Item) : IndexMask.ForDelete(table);
                items.Add(new Item(table, entry.Name, key, mutation, estimate, mask, request));
            }
        }

        if (ctx.ValidateOnly) return;

        // Each write is admitted on its own: the throttled ones go back in UnprocessedItems, and a request of which
        // none can be processed is refused, as on AWS.
        var writes = new List<Item>(items.Count);
        var unprocessed = new List<Item>();
        Refusal firstRefusal = default;
        foreach (var item in items)
        {
            var refusal = ctx.Engine.Capacity.TryAdmitWrite(item.Table, item.Key, item.Estimate, item.Mask, out item.Admission);
            if (!refusal.Refused)
            {
                writes.Add(item);
                continue;
            }

            if (!firstRefusal.Refused) firstRefusal = refusal;
            unprocessed.Add(item);
        }

        if (writes.Count == 0) throw CapacityGate.Throttled(firstRefusal);
        if (firstRefusal.Refused) CapacityGate.CountRequest(firstRefusal);

        var commits = new Task[writes.Count];
        var collections = new long[writes.Count];
        for (var i = 0; i < writes.Count; i++)
        {
            var result = ctx.Engine.Database.Write(writes[i].Table, writes[i].Key, writes[i].Mutation);
            if (result.Status != StoreStatus.Ok) throw DynamoErrors.From(result.Status, result.Problem);
            commits[i] = result.Committed;
            collections[i] = result.ItemCollectionBytes;
        }

        await Task.WhenAll(commits).ConfigureAwait(false);

        w.WriteStartObject();
        w.WriteStartObject("UnprocessedItems"u8);
        foreach (var group in unprocessed.GroupBy(x => x.TableName, StringComparer.Ordinal))
        {
            w.WriteStartArray(group.Key);
            foreach (var x in group) x.Request.WriteTo(w);
            w.WriteEndArray();
        }

        w.WriteEndObject();
        foreach (var x in writes) ctx.Engine.Capacity.Settle(x.Admission, x.Units);
        if (returnCapacity is "TOTAL" or "INDEXES")
        {
            w.WriteStartArray("ConsumedCapacity"u8);
            foreach (var group in writes.GroupBy(x => x.Table.Definition.Name, StringComparer.Ordinal))
            {
                double units = 0;
                foreach (var x in group) units += x.Units;
                Capacity.WriteEntry(w, returnCapacity, group.Key, units, isRead: false);
            }

            w.WriteEndArray();
        }

        if (returnMetrics == "SIZE") WriteCollectionMetrics(w, writes, collections);
        w.WriteEndObject();
    }

    /// <summary>One write of the batch: where it goes, what it does, its original request and its admission.</summary>
    private sealed class Item(TableState table, string tableName, byte[] key, ConditionalMutation mutation, double estimate, ulong mask, JsonElement request)
    {
        public TableState Table { get; } = table;

        public string TableName { get; } = tableName;

        public byte[] Key { get; } = key;

        public ConditionalMutation Mutation { get; } = mutation;

        public double Estimate { get; } = estimate;

        public ulong Mask { get; } = mask;

        public JsonElement Request { get; } = request;

        public Admission Admission;

        /// <summary>The write units it consumed, by the rounding rule of ConsumedCapacity.</summary>
        public double Units => Capacity.WriteUnits(Math.Max(Mutation.OldSize, Mutation.NewSize));
    }

    /// <summary>ItemCollectionMetrics per table that has local secondary indexes: one entry per item written.</summary>
    private static void WriteCollectionMetrics(Utf8JsonWriter w, List<Item> writes, long[] collections)
    {
        var byTable = Enumerable.Range(0, writes.Count).Where(i => collections[i] >= 0).GroupBy(i => writes[i].Table.Definition.Name, StringComparer.Ordinal).ToList();
        if (byTable.Count == 0) return;
        w.WriteStartObject("ItemCollectionMetrics"u8);
        foreach (var group in byTable)
        {
            w.WriteStartArray(group.Key);
            foreach (var i in group)
            {
                w.WriteStartObject();
                var definition = writes[i].Table.Definition;
                KeyCodec.DecodeKey(writes[i].Key, out _, out var hash, out _);
                CollectionMetrics.WriteMembers(w, definition, hash, collections[i]);
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        w.WriteEndObject();
    }

    private static (byte[] Key, ConditionalMutation Mutation, double Estimate) PreparePut(OperationContext ctx, string tableName, JsonElement put, HashSet<byte[]> seen)
    {
        if (Req.Map(put, "Item") is not { } itemJson) throw DynamoErrors.Validation("1 validation error detected: Value null at 'requestItems." + tableName + ".member.putRequest.item' failed to satisfy constraint: Member must not be null");
        if (!AttrJson.TryReadItem(itemJson, out var item, out var error)) throw error.ToException();
        var size = ItemSize.Of(item);
        if (size > ItemSize.MaxItemBytes) throw DynamoErrors.Validation("Item size has exceeded the maximum allowed size");
        var state = Tables.RequireForDataPlane(ctx, tableName);
        var table = state.Definition;
        var (hash, range) = ItemRequest.KeyOfItem(item, table);
        foreach (var index in state.Indexes)
        {
            if (!index.CheckKeys(item, out var problem)) throw DynamoErrors.InvalidIndexKey(problem);
        }

        var key = ItemRequest.EncodeKey(table.TableNumber, hash, range);
        if (!seen.Add(key)) throw DynamoErrors.Validation("Provided list of item keys contains duplicates");
        return (key, new Put(item, size), Capacity.WriteUnits(size));
    }

    private static (byte[] Key, ConditionalMutation Mutation, double Estimate) PrepareDelete(OperationContext ctx, string tableName, JsonElement delete, HashSet<byte[]> seen)
    {
        if (Req.Map(delete, "Key") is not { } keyJson) throw DynamoErrors.Validation("1 validation error detected: Value null at 'requestItems." + tableName + ".member.deleteRequest.key' failed to satisfy constraint: Member must not be null");
        var table = Tables.RequireForDataPlane(ctx, tableName).Definition;
        var (hash, range) = ItemRequest.ReadKey(keyJson, table);
        var key = ItemRequest.EncodeKey(table.TableNumber, hash, range);
        if (!seen.Add(key)) throw DynamoErrors.Validation("Provided list of item keys contains duplicates");
        return (key, new Delete(), 1);
    }

    private sealed class Put(Dictionary<string, AttrValue> item, int size) : ConditionalMutation(null, ExpressionAttributes.Empty, false, false)
    {
        public Dictionary<string, AttrValue> Item => item;

        protected override MutationKind Mutate(Dictionary<string, AttrValue>? current, bool exists, IBufferWriter<byte> newValue)
        {
            WriteStored(newValue, item, size);
            NewSize = size;
            return MutationKind.Put;
        }
    }

    private sealed class Delete() : ConditionalMutation(null, ExpressionAttributes.Empty, false, false)
    {
        protected override MutationKind Mutate(Dictionary<string, AttrValue>? current, bool exists, IBufferWriter<byte> newValue) => MutationKind.Delete;
    }
}
