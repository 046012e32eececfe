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
        var returnValues = request.ReturnValues;
        ItemRequest.CheckExpressionMix(req, LegacyNames, ExpressionNames, "ConditionExpression is null");
        if (!AttrJson.TryReadItem(request.Target, out var item, out var itemError)) throw itemError.ToException();
        if (returnValues is not (null or "NONE" or "ALL_OLD")) throw DynamoErrors.Validation("ReturnValues can only be ALL_OLD or NONE");
        var size = ItemSize.Of(item);
        if (size > ItemSize.MaxItemBytes) throw DynamoErrors.Validation("Item size has exceeded the maximum allowed size");
        var attributes = ItemRequest.ReadExpressionAttributes(req);
        var condition = ItemRequest.ReadCondition(req, attributes);
        attributes.ThrowIfUnused();

        var table = Tables.RequireForDataPlane(ctx, request.TableName);
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

    internal sealed class Mutation(ConditionExpression? condition, ExpressionAttributes attributes, bool keepOld, bool keepOldOnFailure,
        Dictionary<string, AttrValue> item, int size)
        : ConditionalMutation(condition, attributes, keepOld, keepOldOnFailure)
    {
        protected override MutationKind Mutate(Dictionary<string, AttrValue>? current, bool exists, System.Buffers.IBufferWriter<byte> newValue)
        {
            WriteStored(newValue, item, size);
            NewSize = size;
            return MutationKind.Put;
        }
    }
}
