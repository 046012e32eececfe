using System.Buffers;
using System.Runtime.ExceptionServices;
using System.Security.Cryptography;
using System.Text.Json;
using Serverless.Engine.Capacity;
using Serverless.Engine.Expressions;
using Serverless.Engine.Model;
using Serverless.Engine.Protocol;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Operations;

/// <summary>
/// TransactWriteItems: up to 100 Put, Update, Delete and ConditionCheck actions over any tables, applied all or
/// none (<see cref="Database.WriteTransaction"/>). The whole request is validated before storage is touched; a
/// transaction that cannot commit answers TransactionCanceledException with one reason per action.
/// ClientRequestToken makes the call idempotent for 10 minutes (docs/transactions.md).
/// </summary>
internal static class TransactWriteItems
{
    public const int MaxActions = 100;
    public const long MaxTransactionBytes = 4L * 1024 * 1024;
    public const int MaxTokenLength = 36;

    private static readonly string[] ActionNames = ["ConditionCheck", "Put", "Update", "Delete"];

    public static async ValueTask ExecuteAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var list = Req.List(req, "TransactItems");
        var token = Req.String(req, "ClientRequestToken");
        var errors = new ConstraintErrors();
        ItemRequest.CheckCommonEnums(errors, req, out var returnCapacity, out _);
        TransactionRequest.CheckActionCount(errors, list, "TransactWriteItem");
        if (token != null)
        {
            if (token.Length > MaxTokenLength) errors.Add("clientRequestToken", token, "Member must have length less than or equal to 36");
            if (token.Length < 1) errors.Add("clientRequestToken", token, "Member must have length greater than or equal to 1");
        }

        if (errors.Any) errors.ThrowIfAny();
        var raw = new List<(string Kind, JsonElement Body)>();
        var index = 0;
        foreach (var element in list!.Value.EnumerateArray())
        {
            index++;
            Req.RequireObject(element, "TransactWriteItem");
            string? kind = null;
            JsonElement body = default;
            var kinds = 0;
            foreach (var name in ActionNames)
            {
                if (Req.Object(element, name) is not { } b) continue;
                kinds++;
                kind = name;
                body = b;
            }

            if (kinds != 1) throw DynamoErrors.Validation("TransactItems can only contain one of Check, Put, Update or Delete");
            CheckMembers(errors, $"transactItems.{index}.member.{char.ToLowerInvariant(kind![0])}{kind[1..]}", kind, body);
            raw.Add((kind, body));
        }

        errors.ThrowIfAny();

        var actions = new List<Action>(raw.Count);
        var seen = new HashSet<byte[]>(ByteArrayComparer.Instance);
        long totalBytes = 0;
        CancellationReason[]? keyReasons = null;
        for (var i = 0; i < raw.Count; i++)
        {
            Action action;
            try
            {
                action = Prepare(ctx, raw[i].Kind, raw[i].Body);
            }
            catch (DynamoException e) when (ItemRequest.IsKeySchemaMismatch(e))
            {
                // AWS checks key types against the schema as the transaction runs: a ValidationError reason, not a request error.
                keyReasons ??= new CancellationReason[raw.Count];
                keyReasons[i] = CancellationReason.Validation(e.Message);
                continue;
            }

            if (!seen.Add(action.Key)) throw DynamoErrors.Validation("Transaction request cannot include multiple operations on one item");
            totalBytes += action.RequestBytes;
            actions.Add(action);
        }

        if (totalBytes > MaxTransactionBytes) throw DynamoErrors.Validation("Transaction request size exceeds the maximum allowed size of 4 MB");
        if (keyReasons != null)
        {
            for (var i = 0; i < keyReasons.Length; i++)
                if (keyReasons[i].Code is null) keyReasons[i] = CancellationReason.None;
            throw DynamoErrors.TransactionCanceled(keyReasons);
        }

        // The transaction is admitted as a whole (each action at twice the units of a plain one), or cancelled.
        var charges = new Charge[actions.Count];
        for (var i = 0; i < charges.Length; i++)
        {
            var a = actions[i];
            charges[i] = a.Kind == "ConditionCheck"
                ? new Charge(a.Table, a.Key, 2 * Capacity.ReadUnits(0, consistent: true), Read: true, 0)
                : new Charge(a.Table, a.Key, 2 * Capacity.WriteUnits(0), Read: false, IndexMask.ForDelete(a.Table));
        }

        var admissions = new Admission[charges.Length];
        var refusedAt = ctx.Engine.Capacity.TryAdmitAll(charges, admissions, out var refusal);
        if (refusedAt >= 0) throw CapacityGate.TransactionThrottled(charges.Length, refusedAt, refusal);

        var database = ctx.Engine.Database;
        byte[]? fingerprint = null;
        if (token != null)
        {
            fingerprint = TransactionRequest.Fingerprint(list!.Value);
            switch (database.ClaimTransactionToken(token, fingerprint))
            {
                case TokenClaim.Replay:
                    WriteReplayResponse(w, actions, returnCapacity);
                    return;
                case TokenClaim.Mismatch:
                    throw DynamoErrors.IdempotentParameterMismatch();
                case TokenClaim.InProgress:
                    throw DynamoErrors.TransactionInProgress();
            }
        }

        var items = new TransactionItem[actions.Count];
        for (var i = 0; i < items.Length; i++) items[i] = new TransactionItem(actions[i].Table, actions[i].Key, actions[i].Mutation);
        TransactionResult result;
        try
        {
            result = database.WriteTransaction(items, token, fingerprint);
        }
        catch
        {
            if (token != null) database.ReleaseTransactionToken(token);
            throw;
        }

        if (!result.Committed)
        {
            if (token != null) database.ReleaseTransactionToken(token);
            if (result.Status != StoreStatus.Ok) throw DynamoErrors.From(result.Status);
            foreach (var error in result.Errors)
            {
                // A mutation's own validation error cancels the transaction; anything else it raised is a fault.
                if (error != null && error is not DynamoException { ErrorType: "ValidationException" }) ExceptionDispatchInfo.Throw(error);
            }

            throw DynamoErrors.TransactionCanceled(Reasons(actions, result));
        }

        await result.Durable.ConfigureAwait(false);

        // Transactional writes cost twice the units of plain ones.
        for (var i = 0; i < actions.Count; i++)
        {
            var m = actions[i].Mutation;
            ctx.Engine.Capacity.Settle(admissions[i], actions[i].Kind == "ConditionCheck"
                ? 2 * Capacity.ReadUnits(m.OldSize, consistent: true)
                : 2 * Capacity.WriteUnits(Math.Max(m.OldSize, m.NewSize)));
        }

        w.WriteStartObject();
        if (returnCapacity is "TOTAL" or "INDEXES")
        {
            var usage = new TransactionCapacity();
            foreach (var a in actions)
            {
                var m = a.Mutation;
                if (a.Kind == "ConditionCheck") usage.AddRead(a.Table.Definition.Name, Capacity.ReadUnits(m.OldSize, consistent: true));
                else usage.AddWrite(a.Table.Definition.Name, Capacity.WriteUnits(Math.Max(m.OldSize, m.NewSize)));
            }

            usage.Write(w, returnCapacity);
        }

        w.WriteEndObject();
    }

    /// <summary>An idempotent retry changes nothing; like AWS it reports read capacity for the items instead.</summary>
    private static void WriteReplayResponse(Utf8JsonWriter w, List<Action> actions, string? returnCapacity)
    {
        w.WriteStartObject();
        if (returnCapacity is "TOTAL" or "INDEXES")
        {
            var usage = new TransactionCapacity();
            foreach (var a in actions) usage.AddRead(a.Table.Definition.Name, Capacity.ReadUnits(0, consistent: true));
            usage.Write(w, returnCapacity);
        }

        w.WriteEndObject();
    }

    private static List<CancellationReason> Reasons(List<Action> actions, TransactionResult result)
    {
        var reasons = new List<CancellationReason>(actions.Count);
        for (var i = 0; i < actions.Count; i++)
        {
            reasons.Add(result.Outcomes[i] switch
            {
                TransactionOutcome.ConditionFailed => CancellationReason.ConditionFailed(ItemWriter(actions[i].Mutation.OldStored)),
                TransactionOutcome.Conflict => CancellationReason.Conflict,
                TransactionOutcome.Invalid => CancellationReason.Validation((result.Errors[i] ?? DynamoErrors.InvalidIndexKey(result.Problems[i])).Message),
                TransactionOutcome.CollectionLimit => new CancellationReason("ItemCollectionSizeLimitExceeded", DynamoErrors.ItemCollectionSizeLimitExceeded().Message),
                _ => CancellationReason.None,
            });
        }

        return reasons;
    }

    private static Action<Utf8JsonWriter>? ItemWriter(byte[]? stored)
    {
        if (stored == null) return null;
        return w =>
        {
            w.WritePropertyName("Item"u8);
            ItemCodec.WriteJson(StoredValue.Item(stored), w);
        };
    }

    /// <summary>Required members and enums of one action, reported with AWS's nested member paths.</summary>
    private static void CheckMembers(ConstraintErrors errors, string path, string kind, JsonElement body)
    {
        var tableName = Req.String(body, "TableName");
        errors.Name(path + ".tableName", tableName);
        if (kind == "Put") errors.NotNull(path + ".item", Req.Map(body, "Item"));
        else errors.NotNull(path + ".key", Req.Map(body, "Key"));
        if (kind == "Update") errors.NotNull(path + ".updateExpression", Req.String(body, "UpdateExpression"));
        if (kind == "ConditionCheck") errors.NotNull(path + ".conditionExpression", Req.String(body, "ConditionExpression"));
        errors.Enum(path + ".returnValuesOnConditionCheckFailure", Req.String(body, "ReturnValuesOnConditionCheckFailure"), "ALL_OLD, NONE", "ALL_OLD", "NONE");
    }

    private static Action Prepare(OperationContext ctx, string kind, JsonElement body)
    {
        var onFailure = Req.String(body, "ReturnValuesOnConditionCheckFailure") == "ALL_OLD";
        ItemRequest.CheckExpressionMix(body, [], kind == "Update" ? ["UpdateExpression", "ConditionExpression"] : ["ConditionExpression"],
            kind == "Update" ? "UpdateExpression and ConditionExpression are null" : "ConditionExpression is null");
        var attributes = ItemRequest.ReadExpressionAttributes(body);
        ConditionExpression? condition = null;
        if (Req.String(body, "ConditionExpression") is { } conditionText) condition = ExpressionParser.ParseCondition(conditionText, attributes);

        switch (kind)
        {
            case "Put":
                {
                    if (!AttrJson.TryReadItem(Req.Map(body, "Item")!.Value, out var item, out var itemError)) throw itemError.ToException();
                    var size = ItemSize.Of(item);
                    if (size > ItemSize.MaxItemBytes) throw DynamoErrors.Validation("Item size has exceeded the maximum allowed size");
                    attributes.ThrowIfUnused();
                    var table = Tables.RequireForDataPlane(ctx, Req.String(body, "TableName")!);
                    var (hash, range) = ItemRequest.KeyOfItem(item, table.Definition);
                    var key = ItemRequest.EncodeKey(table.Number, hash, range);
                    return new Action(kind, table, key, new PutItem.Mutation(condition, attributes, false, onFailure, item, size), size);
                }

            case "Update":
                {
                    var update = ExpressionParser.ParseUpdate(Req.String(body, "UpdateExpression")!, attributes);
                    attributes.ThrowIfUnused();
                    var table = Tables.RequireForDataPlane(ctx, Req.String(body, "TableName")!);
                    var definition = table.Definition;
                    var (hash, range) = ItemRequest.ReadKey(Req.Map(body, "Key")!.Value, definition);
                    foreach (var name in update.GetTopLevelAttributeNames(attributes))
                    {
                        if (name == definition.HashKey.Name || name == definition.RangeKey?.Name)
                            throw DynamoErrors.Validation($"One or more parameter values were invalid: Cannot update attribute {name}. This attribute is part of the key");
                    }

                    var keyItem = new Dictionary<string, AttrValue>(StringComparer.Ordinal) { [definition.HashKey.Name] = hash };
                    if (range != null) keyItem[definition.RangeKey!.Name] = range;
                    var key = ItemRequest.EncodeKey(table.Number, hash, range);
                    return new Action(kind, table, key, new UpdateItem.Mutation(condition, attributes, false, onFailure, update, keyItem), key.Length);
                }

            default:
                {
                    attributes.ThrowIfUnused();
                    var table = Tables.RequireForDataPlane(ctx, Req.String(body, "TableName")!);
                    var (hash, range) = ItemRequest.ReadKey(Req.Map(body, "Key")!.Value, table.Definition);
                    var key = ItemRequest.EncodeKey(table.Number, hash, range);
                    ConditionalMutation mutation = kind == "Delete"
                        ? new DeleteItem.Mutation(condition, attributes, false, onFailure)
                        : new ConditionCheck(condition, attributes, onFailure);
                    return new Action(kind, table, key, mutation, key.Length);
                }
        }
    }

    /// <summary>One validated action: its table, storage key and mutation, and the bytes it adds to the 4 MB limit.</summary>
    private sealed record Action(string Kind, TableState Table, byte[] Key, ConditionalMutation Mutation, long RequestBytes);

    /// <summary>ConditionCheck: evaluates its condition on the item and changes nothing.</summary>
    private sealed class ConditionCheck(ConditionExpression? condition, ExpressionAttributes attributes, bool keepOldOnFailure)
        : ConditionalMutation(condition, attributes, false, keepOldOnFailure)
    {
        protected override MutationKind Mutate(Dictionary<string, AttrValue>? current, bool exists, IBufferWriter<byte> newValue) => MutationKind.None;
    }
}

/// <summary>What TransactWriteItems and TransactGetItems share: the action-count check, fingerprints and capacity.</summary>
internal static class TransactionRequest
{
    /// <summary>TransactItems must hold 1 to 100 actions; AWS prints the list as Java object names.</summary>
    public static void CheckActionCount(ConstraintErrors errors, JsonElement? list, string memberType)
    {
        if (list is not { } l)
        {
            errors.NotNull("transactItems", null);
            return;
        }

        var count = l.GetArrayLength();
        if (count == 0) errors.Add("transactItems", "[]", "Member must have length greater than or equal to 1");
        if (count > TransactWriteItems.MaxActions)
        {
            var names = new string[count];
            for (var i = 0; i < count; i++) names[i] = $"com.amazonaws.dynamodb.v20120810.{memberType}@{(uint)(0x1b6d3586 + i * 0x9e37):x}";
            errors.Add("transactItems", "[" + string.Join(", ", names) + "]", "Member must have length less than or equal to 100");
        }
    }

    /// <summary>
    /// SHA-256 of the actions with every object's members sorted by name, so a retry that serialises the same
    /// request in another member order still matches (as on AWS).
    /// </summary>
    public static byte[] Fingerprint(JsonElement transactItems)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer))
            WriteCanonical(writer, transactItems);
        return SHA256.HashData(buffer.WrittenSpan);
    }

    private static void WriteCanonical(Utf8JsonWriter w, JsonElement e)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                w.WriteStartObject();
                foreach (var p in e.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
                {
                    w.WritePropertyName(p.Name);
                    WriteCanonical(w, p.Value);
                }

                w.WriteEndObject();
                break;
            case JsonValueKind.Array:
                w.WriteStartArray();
                foreach (var x in e.EnumerateArray()) WriteCanonical(w, x);
                w.WriteEndArray();
                break;
            default:
                e.WriteTo(w);
                break;
        }
    }
}

/// <summary>Per-table capacity of a transaction: every read and write unit counts twice, as on AWS.</summary>
internal sealed class TransactionCapacity
{
    private readonly Dictionary<string, (double Read, double Write)> _tables = new(StringComparer.Ordinal);

    public void AddRead(string table, double units)
    {
        var (r, wr) = _tables.GetValueOrDefault(table);
        _tables[table] = (r + 2 * units, wr);
    }

    public void AddWrite(string table, double units)
    {
        var (r, wr) = _tables.GetValueOrDefault(table);
        _tables[table] = (r, wr + 2 * units);
    }

    public void Write(Utf8JsonWriter w, string mode)
    {
        w.WriteStartArray("ConsumedCapacity"u8);
        foreach (var (name, (read, write)) in _tables)
        {
            w.WriteStartObject();
            w.WriteString("TableName"u8, name);
            WriteUnits(w, read, write);
            if (mode == "INDEXES")
            {
                w.WriteStartObject("Table"u8);
                WriteUnits(w, read, write);
                w.WriteEndObject();
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private static void WriteUnits(Utf8JsonWriter w, double read, double write)
    {
        w.WriteNumber("CapacityUnits"u8, read + write);
        if (read > 0) w.WriteNumber("ReadCapacityUnits"u8, read);
        if (write > 0) w.WriteNumber("WriteCapacityUnits"u8, write);
    }
}
