using System.Text.Json;
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
        var tableName = Req.String(req, "TableName");
        var keyJson = Req.Map(req, "Key");
        var returnValues = Req.String(req, "ReturnValues");
        var errors = new ConstraintErrors();
        ItemRequest.CheckCommonEnums(errors, req, out var returnCapacity, out _);
        errors.Name("tableName", tableName);
        errors.NotNull("key", keyJson);
        errors.Enum("returnValues", returnValues, ItemRequest.ReturnValuesEnum, "ALL_NEW", "UPDATED_OLD", "ALL_OLD", "NONE", "UPDATED_NEW");
        var onFailure = ItemRequest.ReadReturnValuesOnConditionCheckFailure(errors, req);
        errors.ThrowIfAny();

        ItemRequest.CheckExpressionMix(req, LegacyNames, ExpressionNames, "ConditionExpression is null");
        if (returnValues is not (null or "NONE" or "ALL_OLD")) throw DynamoErrors.Validation("ReturnValues can only be ALL_OLD or NONE");
        var attributes = ItemRequest.ReadExpressionAttributes(req);
        var condition = ItemRequest.ReadCondition(req, attributes);
        attributes.ThrowIfUnused();

        var table = Tables.RequireForDataPlane(ctx, tableName!);
        var definition = table.Definition;
        var (hash, range) = ItemRequest.ReadKey(keyJson!.Value, definition);
        Span<byte> scratch = stackalloc byte[256];
        var key = ItemRequest.EncodeKey(definition.TableNumber, hash, range, scratch);

        var mutation = new Mutation(condition, attributes, returnValues == "ALL_OLD", onFailure == "ALL_OLD");
        var result = ctx.Engine.Database.Write(table, key, mutation);
        if (result.Kind == MutationKind.ConditionFailed) throw mutation.ConditionFailed();
        await result.Committed.ConfigureAwait(false);

        w.WriteStartObject();
        if (mutation.OldStored is { } old)
        {
            w.WritePropertyName("Attributes"u8);
            ItemCodec.WriteJson(StoredValue.Item(old), w);
        }

        Capacity.Write(w, returnCapacity, definition.Name, Capacity.WriteUnits(mutation.OldSize), isRead: false);
        w.WriteEndObject();
    }

    private sealed class Mutation(ConditionExpression? condition, ExpressionAttributes attributes, bool keepOld, bool keepOldOnFailure)
        : ConditionalMutation(condition, attributes, keepOld, keepOldOnFailure)
    {
        protected override MutationKind Mutate(Dictionary<string, AttrValue>? current, bool exists, System.Buffers.IBufferWriter<byte> newValue) =>
            MutationKind.Delete;
    }
}
