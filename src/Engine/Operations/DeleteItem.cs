using System.Text.Json;
using Serverless.Engine.Capacity;
using Serverless.Engine.Expressions;
using Serverless.Engine.Model;
using Serverless.Engine.Protocol;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Operations;

/// <summary>DeleteItem: removes one item, optionally under a condition. Deleting an absent item succeeds.</summary>
internal static class DeleteItem
{
    private static readonly string[] LegacyNames = ["Expected"];
    private static readonly string[] ExpressionNames = ["ConditionExpression"];

    public static async ValueTask ExecuteAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var request = ItemRequest.ReadWriteRequest(req, "Key");
        var returnValues = request.ReturnValues;
        ItemRequest.CheckExpressionMix(req, LegacyNames, ExpressionNames, "ConditionExpression is null");
        if (returnValues is not (null or "NONE" or "ALL_OLD")) throw DynamoErrors.Validation("ReturnValues can only be ALL_OLD or NONE");
        var attributes = ItemRequest.ReadExpressionAttributes(req);
        var condition = ItemRequest.ReadCondition(req, attributes);
        attributes.ThrowIfUnused();

        var table = Tables.RequireForDataPlane(ctx, request.TableName);
        var definition = table.Definition;
        var (hash, range) = ItemRequest.ReadKey(request.Target, definition);
        var key = ItemRequest.EncodeKey(definition.TableNumber, hash, range);
        var admission = Capacity.AdmitWrite(ctx, table, key, 1, IndexMask.ForDelete(table));
        var mutation = new Mutation(condition, attributes, returnValues == "ALL_OLD", request.OldOnFailure);
        var collectionBytes = await ItemRequest.CommitAsync(ctx, table, key, mutation).ConfigureAwait(false);

        w.WriteStartObject();
        ItemRequest.WriteOldAttributes(w, mutation.OldStored);
        Capacity.Write(w, request.ReturnCapacity, ctx, admission, table, Capacity.WriteUnits(mutation.OldSize), isRead: false);
        if (request.ReturnCollectionMetrics) CollectionMetrics.Write(w, definition, hash, collectionBytes);
        w.WriteEndObject();
    }

    internal sealed class Mutation(ConditionExpression? condition, ExpressionAttributes attributes, bool keepOld, bool keepOldOnFailure)
        : ConditionalMutation(condition, attributes, keepOld, keepOldOnFailure)
    {
        protected override MutationKind Mutate(Dictionary<string, AttrValue>? current, bool exists, System.Buffers.IBufferWriter<byte> newValue) =>
            MutationKind.Delete;
    }
}
