using System.Runtime.InteropServices;
using System.Text.Json;
using Serverless.Engine.Capacity;
using Serverless.Engine.Expressions;
using Serverless.Engine.Model;
using Serverless.Engine.Protocol;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Operations;

/// <summary>UpdateItem: edits attributes of one item, creating it when absent, optionally under a condition.</summary>
internal static class UpdateItem
{
    private static readonly string[] LegacyNames = ["AttributeUpdates", "Expected"];
    private static readonly string[] ExpressionNames = ["UpdateExpression", "ConditionExpression"];

    public static async ValueTask ExecuteAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var request = ItemRequest.ReadWriteRequest(req, "Key", update: true);
        ItemRequest.CheckExpressionMix(req, LegacyNames, ExpressionNames, static r => NullExpressionsText(r));
        var attributes = ItemRequest.ReadExpressionAttributes(req);
        UpdateExpression? update = null;
        if (Req.String(req, "UpdateExpression"u8) is { } text) update = ExpressionParser.ParseUpdate(text, attributes);
        else if (Req.Map(req, "AttributeUpdates"u8) is { } legacy) update = ReadAttributeUpdates(legacy);
        var condition = ItemRequest.ReadCondition(req, attributes);
        attributes.ThrowIfUnused();

        var table = Tables.RequireForDataPlane(ctx, request.TableName);
        var definition = table.Definition;
        var (hash, range) = ItemRequest.ReadKey(request.Target, definition);
        var mode = request.ReturnValues ?? "NONE";

        // SETs of top-level attributes to given values, with nothing asking for the new item, edit the encoded item;
        // their names are the updated attributes, so only UPDATED_OLD needs the list.
        var keyCount = range == null ? 1 : 2;
        string[]? setNames = null;
        AttrValue[]? setValues = null;
        var encodedEdit = condition == null && mode is not ("ALL_NEW" or "UPDATED_NEW") && update != null
            && update.TryGetTopLevelSets(attributes, keyCount, out setNames, out setValues) && setNames.Length <= 64;
        var updated = encodedEdit && mode != "UPDATED_OLD" ? null : update?.GetTopLevelAttributeNames(attributes) ?? [];
        var updatedNames = updated == null ? setNames!.AsSpan(keyCount) : updated is List<string> list ? CollectionsMarshal.AsSpan(list) : [.. updated];
        foreach (var name in updatedNames)
        {
            if (name == definition.HashKey.Name || name == definition.RangeKey?.Name)
                throw DynamoErrors.Validation($"One or more parameter values were invalid: Cannot update attribute {name}. This attribute is part of the key");
        }

        var key = ItemRequest.EncodeKey(definition.TableNumber, hash, range);
        Mutation mutation;
        if (encodedEdit)
        {
            setNames![0] = definition.HashKey.Name;
            setValues![0] = hash;
            if (range != null)
            {
                setNames[1] = definition.RangeKey!.Name;
                setValues[1] = range;
            }

            mutation = new Mutation(null, attributes, mode is "ALL_OLD" or "UPDATED_OLD", request.OldOnFailure, update, null, setNames, setValues, keyCount);
        }
        else
        {
            var keyItem = new Dictionary<string, AttrValue>(StringComparer.Ordinal) { [definition.HashKey.Name] = hash };
            if (range != null) keyItem[definition.RangeKey!.Name] = range;
            mutation = new Mutation(condition, attributes, mode is "ALL_OLD" or "UPDATED_OLD", request.OldOnFailure, update, keyItem);
        }

        var admission = Capacity.AdmitWrite(ctx, table, key, 1, IndexMask.ForUpdate(table, updatedNames));
        var collectionBytes = await ItemRequest.CommitAsync(ctx, table, key, mutation).ConfigureAwait(false);

        w.WriteStartObject();
        var returned = mode switch
        {
            "ALL_NEW" => mutation.NewItem,
            "ALL_OLD" => mutation.OldStored is { } o ? ItemCodec.Decode(StoredValue.Item(o)) : null,
            "UPDATED_NEW" => PickUpdated(mutation.NewItem, updated!, req, attributes),
            "UPDATED_OLD" => mutation.OldStored is { } o2 ? PickUpdated(ItemCodec.Decode(StoredValue.Item(o2)), updated!, req, attributes) : null,
            _ => null,
        };
        if (returned is { Count: > 0 })
        {
            w.WritePropertyName("Attributes"u8);
            AttrJson.WriteItem(w, returned);
        }

        Capacity.Write(w, request.ReturnCapacity, ctx, admission, table, Capacity.WriteUnits(Math.Max(mutation.OldSize, mutation.NewSize)), isRead: false);
        if (request.ReturnCollectionMetrics) CollectionMetrics.Write(w, definition, hash, collectionBytes);
        w.WriteEndObject();
    }

    private static string NullExpressionsText(JsonElement req)
    {
        var missing = new List<string>(2);
        if (!Req.Has(req, "UpdateExpression"u8)) missing.Add("UpdateExpression");
        if (!Req.Has(req, "ConditionExpression"u8)) missing.Add("ConditionExpression");
        return string.Join(" and ", missing) + (missing.Count > 1 ? " are null" : " is null");
    }

    private static UpdateExpression? ReadAttributeUpdates(JsonElement map)
    {
        var list = new List<AttributeUpdate>();
        foreach (var p in map.EnumerateObject())
        {
            Req.RequireObject(p.Value, "AttributeValueUpdate");
            var action = Req.String(p.Value, "Action");
            var errors = new ConstraintErrors();
            errors.Enum($"attributeUpdates.{p.Name}.member.action", action, "ADD, PUT, DELETE", "ADD", "PUT", "DELETE");
            errors.ThrowIfAny();
            AttrValue? value = null;
            if (p.Value.TryGetProperty("Value", out var v) && v.ValueKind != JsonValueKind.Null) value = AttrJson.ReadValue(v);
            list.Add(new AttributeUpdate(p.Name, action, value));
        }

        return list.Count == 0 ? null : LegacyParameters.FromAttributeUpdates(list);
    }

    /// <summary>
    /// UPDATED_OLD / UPDATED_NEW: DynamoDB returns only the paths the update targets (SET a.b returns {a:{b:..}}, not all of a),
    /// i.e. the item projected on those paths. Legacy AttributeUpdates only name top-level attributes.
    /// </summary>
    private static Dictionary<string, AttrValue>? PickUpdated(Dictionary<string, AttrValue>? item, IReadOnlyList<string> names,
        JsonElement req, ExpressionAttributes attributes)
    {
        if (item == null) return null;
        if (Req.String(req, "UpdateExpression"u8) is not { } text) return Pick(item, names);
        // The expression already compiled, so this parse cannot fail; it only recovers the target paths.
        var paths = new Parser(text, "UpdateExpression", update: true).ParseUpdateRoot().Select(a => a.Path).ToList();
        return new ProjectionExpression(paths).Apply(item, attributes);
    }

    private static Dictionary<string, AttrValue>? Pick(Dictionary<string, AttrValue>? item, IReadOnlyList<string> names)
    {
        if (item == null) return null;
        var result = new Dictionary<string, AttrValue>(StringComparer.Ordinal);
        foreach (var n in names)
            if (item.TryGetValue(n, out var v)) result[n] = v;
        return result;
    }

    /// <summary>
    /// The update under the item's lock. With <paramref name="setNames"/> (key attributes first, <paramref name="keyCount"/>
    /// of them, then the SET targets) it edits the encoded item instead (<see cref="ItemCodec.WriteWithAttributes"/>):
    /// no condition, and <see cref="NewItem"/> stays null.
    /// </summary>
    internal sealed class Mutation(ConditionExpression? condition, ExpressionAttributes attributes, bool keepOld, bool keepOldOnFailure,
        UpdateExpression? update, Dictionary<string, AttrValue>? keyItem, string[]? setNames = null, AttrValue[]? setValues = null, int keyCount = 0)
        : ConditionalMutation(condition, attributes, keepOld, keepOldOnFailure)
    {
        public Dictionary<string, AttrValue>? NewItem { get; private set; }

        protected override bool TryMutateEncoded(ReadOnlySpan<byte> currentItem, System.Buffers.IBufferWriter<byte> newValue, out MutationKind kind)
        {
            kind = MutationKind.Put;
            if (setNames == null) return false;

            // An item that exists has its key attributes already; a new one starts from them.
            var from = currentItem.IsEmpty ? 0 : keyCount;
            var names = setNames.AsSpan(from);
            var values = setValues.AsSpan(from);
            var (size, length) = ItemCodec.MeasureWithAttributes(currentItem, names, values);
            if (size > ItemSize.MaxItemBytes) throw DynamoErrors.Validation("Item size to update has exceeded the maximum allowed size");
            StoredValue.WriteHeader(newValue, size);
            ItemCodec.WriteWithAttributes(currentItem, names, values, length, newValue);
            NewSize = size;
            return true;
        }

        protected override bool NeedsCurrentItem => setNames == null;

        protected override MutationKind Mutate(Dictionary<string, AttrValue>? current, bool exists, System.Buffers.IBufferWriter<byte> newValue)
        {
            // REMOVE and DELETE alone on an absent item: AWS writes nothing (no empty item, no stream record).
            if (current == null && update is { OnlyTakesAway: true }) return MutationKind.None;
            var basis = current ?? keyItem!;
            var next = update?.Apply(basis, Attributes) ?? new Dictionary<string, AttrValue>(basis, StringComparer.Ordinal);
            var size = ItemSize.Of(next);
            if (size > ItemSize.MaxItemBytes) throw DynamoErrors.Validation("Item size to update has exceeded the maximum allowed size");
            WriteStored(newValue, next, size);
            NewItem = next;
            NewSize = size;
            return MutationKind.Put;
        }
    }
}
