using System.Buffers;
using System.Text.Json;
using Serverless.Engine.Capacity;
using Serverless.Engine.Expressions;
using Serverless.Engine.Model;
using Serverless.Engine.Protocol;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Operations;

/// <summary>PutItem: replaces the whole item, optionally under a condition.</summary>
internal static class PutItem
{
    private static readonly string[] LegacyNames = ["Expected"];
    private static readonly string[] ExpressionNames = ["ConditionExpression"];

    public static async ValueTask ExecuteAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var request = ItemRequest.ReadWriteRequest(req, "Item");
        int plainSize = 0, plainLength = 0;
        var returnValues = request.ReturnValues;
        ItemRequest.CheckExpressionMix(req, LegacyNames, ExpressionNames, "ConditionExpression is null");
        // A plain item is stored as encoded straight from the JSON (ExecutePlainAsync); it needs no decoded form.
        var plain = !request.ReturnCollectionMetrics && returnValues is null or "NONE" or "ALL_OLD"
            && ItemCodec.TryMeasurePlain(request.Target, out plainSize, out plainLength);
        Dictionary<string, AttrValue>? item = null;
        int size;
        if (plain) size = plainSize;
        else
        {
            if (!AttrJson.TryReadItem(request.Target, out item, out var itemError)) throw itemError.ToException();
            if (returnValues is not (null or "NONE" or "ALL_OLD")) throw DynamoErrors.Validation("ReturnValues can only be ALL_OLD or NONE");
            size = ItemSize.Of(item);
        }

        if (size > ItemSize.MaxItemBytes) throw DynamoErrors.Validation("Item size has exceeded the maximum allowed size");
        var attributes = ItemRequest.ReadExpressionAttributes(req);
        var condition = ItemRequest.ReadCondition(req, attributes);
        attributes.ThrowIfUnused();

        var table = Tables.RequireForDataPlane(ctx, request.TableName);
        if (item == null)
        {
            await ExecutePlainAsync(ctx, w, request, table, new Mutation(condition, attributes, returnValues == "ALL_OLD", request.OldOnFailure, null, size), plainLength).ConfigureAwait(false);
            return;
        }

        var definition = table.Definition;
        var (hash, range) = ItemRequest.KeyOfItem(item, definition);
        var key = ItemRequest.EncodeKey(definition.TableNumber, hash, range);
        var admission = Capacity.AdmitWrite(ctx, table, key, Capacity.WriteUnits(size), IndexMask.ForPut(table, item));
        var mutation = new Mutation(condition, attributes, returnValues == "ALL_OLD", request.OldOnFailure, item, size);
        var collectionBytes = await ItemRequest.CommitAsync(ctx, table, key, mutation).ConfigureAwait(false);

        w.WriteStartObject();
        ItemRequest.WriteOldAttributes(w, mutation.OldStored);
        Capacity.Write(w, request.ReturnCapacity, ctx, admission, table, Capacity.WriteUnits(Math.Max(size, mutation.OldSize)), isRead: false);
        if (request.ReturnCollectionMetrics) CollectionMetrics.Write(w, definition, hash, collectionBytes);
        w.WriteEndObject();
    }

    /// <summary>
    /// The rest of a plain item's put (<see cref="ItemCodec.TryMeasurePlain"/>), after the checks it shares with the
    /// general path: the item is encoded from the JSON into a pooled buffer and stored from there.
    /// </summary>
    private static async ValueTask ExecutePlainAsync(OperationContext ctx, Utf8JsonWriter w, ItemRequest.WriteRequest request, TableState table, Mutation mutation, int length)
    {
        var definition = table.Definition;
        var size = mutation.Size;
        var key = ArrayPool<byte>.Shared.Rent(KeyCodec.HeaderLength + 2 * (ItemSize.MaxSortKeyBytes + 3));
        var encoded = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            ReadOnlyMemory<byte> storageKey;
            if (ItemRequest.TryEncodeStringKeyOfItem(request.Target, definition, key, out var keyLength)) storageKey = key.AsMemory(0, keyLength);
            else
            {
                // Keys of other types, or an error to report: the general path's key checks.
                var (hash, range) = ItemRequest.KeyOfItem(AttrJson.ReadItem(request.Target), definition);
                storageKey = ItemRequest.EncodeKey(definition.TableNumber, hash, range);
            }

            ItemCodec.WritePlain(request.Target, length, encoded);
            var admission = Capacity.AdmitWrite(ctx, table, storageKey.Span, Capacity.WriteUnits(size), IndexMask.ForPut(table, request.Target));
            mutation.Encoded = encoded.AsMemory(0, length);
            await ItemRequest.CommitAsync(ctx, table, storageKey, mutation).ConfigureAwait(false);

            w.WriteStartObject();
            ItemRequest.WriteOldAttributes(w, mutation.OldStored);
            Capacity.Write(w, request.ReturnCapacity, ctx, admission, table, Capacity.WriteUnits(Math.Max(size, mutation.OldSize)), isRead: false);
            w.WriteEndObject();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(key);
            ArrayPool<byte>.Shared.Return(encoded);
        }
    }

    /// <summary>The put under the item's lock: stores <paramref name="item"/>, or without one the <see cref="Encoded"/> bytes as they are.</summary>
    internal sealed class Mutation(ConditionExpression? condition, ExpressionAttributes attributes, bool keepOld, bool keepOldOnFailure,
        Dictionary<string, AttrValue>? item, int size)
        : ConditionalMutation(condition, attributes, keepOld, keepOldOnFailure)
    {
        public int Size => size;

        /// <summary>The encoded item to store when there is no <c>item</c>.</summary>
        public ReadOnlyMemory<byte> Encoded { get; set; }

        protected override MutationKind Mutate(Dictionary<string, AttrValue>? current, bool exists, System.Buffers.IBufferWriter<byte> newValue)
        {
            if (item == null)
            {
                StoredValue.WriteHeader(newValue, size);
                newValue.Write(Encoded.Span);
                NewSize = size;
                return MutationKind.Put;
            }

            WriteStored(newValue, item, size);
            NewSize = size;
            return MutationKind.Put;
        }
    }
}
