using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using Serverless.Engine.Capacity;
using Serverless.Engine.Expressions;
using Serverless.Engine.Model;
using Serverless.Engine.Protocol;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Operations;

/// <summary>Request parts shared by the item operations: keys, placeholders, legacy parameters and option enums.</summary>
internal static class ItemRequest
{
    public const string ReturnValuesEnum = "ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW";

    /// <summary>The members PutItem, UpdateItem and DeleteItem share, after their constraint checks.</summary>
    public readonly record struct WriteRequest(
        string TableName, JsonElement Target, string? ReturnValues, string? ReturnCapacity, bool OldOnFailure, bool ReturnCollectionMetrics);

    /// <summary>
    /// Reads and checks the members every single-item write has: TableName, the item or key (<paramref name="targetMember"/>),
    /// ReturnValues and the option enums.
    /// </summary>
    public static WriteRequest ReadWriteRequest(JsonElement req, string targetMember, bool update = false)
    {
        var tableName = Req.TableName(req);
        var target = Req.Map(req, targetMember);
        var returnValues = Req.String(req, "ReturnValues"u8);
        var returnCapacity = Req.String(req, "ReturnConsumedCapacity"u8);
        var returnMetrics = Req.String(req, "ReturnItemCollectionMetrics"u8);
        var errors = ConstraintErrors.ForThread();
        // The list in AWS's order, which differs by operation (recorded in dynalite's suite):
        // PutItem: returnConsumedCapacity, tableName, item, returnValues, returnItemCollectionMetrics;
        // DeleteItem: returnConsumedCapacity, tableName, returnValues, returnItemCollectionMetrics, key;
        // UpdateItem: returnConsumedCapacity, tableName, returnItemCollectionMetrics, returnValues, key.
        errors.Enum("returnConsumedCapacity", returnCapacity, "INDEXES, TOTAL, NONE", "INDEXES", "TOTAL", "NONE");
        errors.Name("tableName", tableName, allowArn: true);
        var put = targetMember == "Item";
        if (put && target is null) errors.NotNull("item", null);
        if (update) errors.Enum("returnItemCollectionMetrics", returnMetrics, "SIZE, NONE", "SIZE", "NONE");
        errors.Enum("returnValues", returnValues, ReturnValuesEnum, "ALL_NEW", "UPDATED_OLD", "ALL_OLD", "NONE", "UPDATED_NEW");
        if (!update) errors.Enum("returnItemCollectionMetrics", returnMetrics, "SIZE, NONE", "SIZE", "NONE");
        if (!put && target is null) errors.NotNull("key", null);
        var onFailure = ReadReturnValuesOnConditionCheckFailure(errors, req);
        errors.ThrowIfAny();
        return new WriteRequest(tableName!, target!.Value, returnValues, returnCapacity, onFailure == "ALL_OLD", returnMetrics == "SIZE");
    }

    /// <summary>
    /// Runs a single-item write under its lock and waits for its commit; a failed condition throws. Returns the size
    /// of the item's collection for tables with local secondary indexes, else -1.
    /// </summary>
    public static async ValueTask<long> CommitAsync(OperationContext ctx, TableState table, ReadOnlyMemory<byte> key, ConditionalMutation mutation)
    {
        var result = ctx.Engine.Database.Write(table, key.Span, mutation);
        if (result.Status != StoreStatus.Ok) throw DynamoErrors.From(result.Status, result.Problem);
        if (result.Kind == MutationKind.ConditionFailed) throw mutation.ConditionFailed();
        await result.Committed.ConfigureAwait(false);
        return result.ItemCollectionBytes;
    }

    /// <summary>Writes <c>Attributes</c> from a stored value, when there is one.</summary>
    public static void WriteOldAttributes(Utf8JsonWriter w, byte[]? oldStored)
    {
        if (oldStored is null) return;
        w.WritePropertyName("Attributes"u8);
        ItemCodec.WriteJson(StoredValue.Item(oldStored), w);
    }

    /// <summary>Checks the option enums every item operation shares.</summary>
    public static void CheckCommonEnums(ConstraintErrors errors, JsonElement req, out string? returnConsumedCapacity, out string? returnItemCollectionMetrics)
    {
        returnConsumedCapacity = Req.String(req, "ReturnConsumedCapacity"u8);
        returnItemCollectionMetrics = Req.String(req, "ReturnItemCollectionMetrics"u8);
        errors.Enum("returnConsumedCapacity", returnConsumedCapacity, "INDEXES, TOTAL, NONE", "INDEXES", "TOTAL", "NONE");
        errors.Enum("returnItemCollectionMetrics", returnItemCollectionMetrics, "SIZE, NONE", "SIZE", "NONE");
    }

    public static string? ReadReturnValuesOnConditionCheckFailure(ConstraintErrors errors, JsonElement req)
    {
        var v = Req.String(req, "ReturnValuesOnConditionCheckFailure"u8);
        errors.Enum("returnValuesOnConditionCheckFailure", v, "ALL_OLD, NONE", "ALL_OLD", "NONE");
        return v;
    }

    /// <summary>
    /// Rejects mixing the legacy parameters with expressions, and placeholders without expressions, with AWS's messages.
    /// </summary>
    public static void CheckExpressionMix(JsonElement req, string[] legacyNames, string[] expressionNames, string nullExpressionsText) =>
        CheckExpressionMix(req, legacyNames, expressionNames, nullExpressionsText, null);

    /// <summary>As above, with the text made only when the error is thrown.</summary>
    public static void CheckExpressionMix(JsonElement req, string[] legacyNames, string[] expressionNames, Func<JsonElement, string> nullExpressionsText) =>
        CheckExpressionMix(req, legacyNames, expressionNames, null, nullExpressionsText);

    private static void CheckExpressionMix(JsonElement req, string[] legacyNames, string[] expressionNames, string? nullText, Func<JsonElement, string>? makeNullText)
    {
        var anyLegacy = AnyPresent(req, legacyNames);
        var anyExpression = AnyPresent(req, expressionNames);
        if (anyLegacy && anyExpression)
            throw DynamoErrors.Validation("Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {"
                + string.Join(", ", Present(req, legacyNames)) + "} Expression parameters: {" + string.Join(", ", Present(req, expressionNames)) + "}");
        if (!anyExpression)
        {
            if (Req.Has(req, "ExpressionAttributeNames"u8)) throw DynamoErrors.Validation("ExpressionAttributeNames can only be specified when using expressions");
            if (Req.Has(req, "ExpressionAttributeValues"u8))
                throw DynamoErrors.Validation("ExpressionAttributeValues can only be specified when using expressions: " + (nullText ?? makeNullText!(req)));
        }
    }

    private static bool AnyPresent(JsonElement req, string[] names)
    {
        foreach (var n in names)
            if (Req.Has(req, n)) return true;
        return false;
    }

    private static List<string> Present(JsonElement req, string[] names)
    {
        var list = new List<string>(names.Length);
        foreach (var n in names)
            if (Req.Has(req, n)) list.Add(n);
        return list;
    }

    /// <summary>Reads ExpressionAttributeNames and ExpressionAttributeValues.</summary>
    public static ExpressionAttributes ReadExpressionAttributes(JsonElement req)
    {
        Dictionary<string, string>? names = null;
        Dictionary<string, AttrValue>? values = null;
        if (Req.Map(req, "ExpressionAttributeNames"u8) is { } n)
        {
            names = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var p in n.EnumerateObject())
            {
                var placeholder = Req.PropertyName(p);
                if (!IsPlaceholder(placeholder, '#')) throw DynamoErrors.Validation($"ExpressionAttributeNames contains invalid key: Syntax error; key: \"{p.Name}\"");
                if (p.Value.ValueKind != JsonValueKind.String) throw DynamoErrors.Serialization(p.Value.ValueKind == JsonValueKind.Object ? "Start of structure or map found where not expected" : "Unexpected field type");
                var value = p.Value.GetString()!;
                if (value.Length == 0) throw DynamoErrors.Validation($"ExpressionAttributeNames contains invalid value: Empty attribute name for key {p.Name}");
                if (AttrJson.IsNameTooLarge(value)) throw DynamoErrors.Validation(AttrJson.NameTooLarge);
                names[placeholder] = value;
            }

            if (names.Count == 0) throw DynamoErrors.Validation("ExpressionAttributeNames must not be empty");
        }

        if (Req.Map(req, "ExpressionAttributeValues"u8) is { } v)
        {
            values = new Dictionary<string, AttrValue>(StringComparer.Ordinal);
            foreach (var p in v.EnumerateObject())
            {
                var placeholder = Req.PropertyName(p);
                if (!IsPlaceholder(placeholder, ':')) throw DynamoErrors.Validation($"ExpressionAttributeValues contains invalid key: Syntax error; key: \"{placeholder}\"");
                if (!AttrJson.TryReadValue(p.Value, out var value, out var error)) throw InvalidValue(error, placeholder);
                values[placeholder] = value;
            }

            if (values.Count == 0) throw DynamoErrors.Validation("ExpressionAttributeValues must not be empty");
        }

        return names == null && values == null ? ExpressionAttributes.Empty : new ExpressionAttributes(names, values);
    }

    // Its own method: a lambda capturing the loop variable would cost a closure on every iteration, error or not.
    private static DynamoException InvalidValue(AttrJsonError error, string placeholder) =>
        error.ToException(m => $"ExpressionAttributeValues contains invalid value: {m} for key {placeholder}");

    /// <summary>Compiles ConditionExpression, or the legacy Expected + ConditionalOperator, into one condition.</summary>
    public static ConditionExpression? ReadCondition(JsonElement req, ExpressionAttributes attributes)
    {
        if (Req.String(req, "ConditionExpression"u8) is { } text) return ExpressionParser.ParseCondition(text, attributes);
        var op = Req.String(req, "ConditionalOperator"u8);
        var errors = ConstraintErrors.ForThread();
        errors.Enum("conditionalOperator", op, "AND, OR", "AND", "OR");
        errors.ThrowIfAny();
        if (Req.Map(req, "Expected"u8) is not { } expected) return null;
        var list = new List<ExpectedCondition>();
        foreach (var p in expected.EnumerateObject())
        {
            Req.RequireObject(p.Value, "ExpectedAttributeValue");
            var exists = Req.Bool(p.Value, "Exists");
            AttrValue? value = null;
            if (p.Value.TryGetProperty("Value", out var vj) && vj.ValueKind != JsonValueKind.Null) value = AttrJson.ReadValue(vj);
            var comparison = Req.String(p.Value, "ComparisonOperator");
            List<AttrValue>? args = null;
            if (Req.List(p.Value, "AttributeValueList") is { } al)
            {
                args = [];
                foreach (var a in al.EnumerateArray()) args.Add(AttrJson.ReadValue(a));
            }

            list.Add(new ExpectedCondition(p.Name, exists, value, comparison, args));
        }

        return list.Count == 0 ? null : LegacyParameters.FromExpected(list, op);
    }

    /// <summary>Reads a Key map that must name exactly the table's key attributes, with the right types.</summary>
    public static (AttrValue Hash, AttrValue? Range) ReadKey(JsonElement keyJson, TableDefinition table)
    {
        Req.RequireMap(keyJson);
        if (TryReadKeyFast(keyJson, table, out var fastHash, out var fastRange))
        {
            CheckKeyValue(table.HashKey.Name, fastHash, isPartitionKey: true);
            if (fastRange != null) CheckKeyValue(table.RangeKey!.Name, fastRange, isPartitionKey: false);
            return (fastHash, fastRange);
        }

        if (!AttrJson.TryReadItem(keyJson, out var key, out var error)) throw error.ToException();
        var expected = table.RangeKey == null ? 1 : 2;
        if (key.Count != expected
            || !key.TryGetValue(table.HashKey.Name, out var hash) || AttrTypeNames.Name(hash.Type) != table.HashKey.Type
            || (table.RangeKey != null && (!key.TryGetValue(table.RangeKey.Name, out var r) || AttrTypeNames.Name(r.Type) != table.RangeKey.Type)))
            throw DynamoErrors.Validation(KeyMismatch);
        var range = table.RangeKey == null ? null : key[table.RangeKey.Name];
        CheckKeyValue(table.HashKey.Name, hash, isPartitionKey: true);
        if (range != null) CheckKeyValue(table.RangeKey!.Name, range, isPartitionKey: false);
        return (hash, range);
    }

    /// <summary>
    /// The common case of <see cref="ReadKey"/> without building a map: exactly the table's key attributes, each a
    /// well-formed value of the schema's type. Anything else returns false and takes the general path, which
    /// produces the exact error.
    /// </summary>
    private static bool TryReadKeyFast(JsonElement keyJson, TableDefinition table, [NotNullWhen(true)] out AttrValue? hash, out AttrValue? range)
    {
        hash = null;
        range = null;
        var count = 0;
        foreach (var p in keyJson.EnumerateObject())
        {
            if (++count > 2) return false;
            AttrValue? value;
            KeyAttribute attribute;
            if (p.NameEquals(table.HashKey.Name) && hash == null) attribute = table.HashKey;
            else if (table.RangeKey != null && range == null && p.NameEquals(table.RangeKey.Name)) attribute = table.RangeKey;
            else return false;
            if (!AttrJson.TryReadValue(p.Value, out value, out _) || AttrTypeNames.Name(value.Type) != attribute.Type) return false;
            if (ReferenceEquals(attribute, table.HashKey)) hash = value;
            else range = value;
        }

        return hash != null && (table.RangeKey == null) == (range == null);
    }

    /// <summary>
    /// The storage key of a Key map whose key attributes are all S, encoded straight from the request's UTF-8 without
    /// building values, into <paramref name="scratch"/>. Only the plain case: exactly the schema's attributes, each
    /// <c>{"S": "..."}</c>, non-empty, without escapes and short enough for every size limit; anything else returns
    /// false for <see cref="ReadKey"/>, which checks it and produces the exact error.
    /// </summary>
    public static bool TryEncodeStringKey(JsonElement keyJson, TableDefinition table, Span<byte> scratch, out int written)
    {
        written = 0;
        if (keyJson.ValueKind != JsonValueKind.Object || table.HashKey.Type != "S" || table.RangeKey is { Type: not "S" }) return false;
        ReadOnlySpan<byte> hash = default, range = default;
        bool hasHash = false, hasRange = false;
        var count = 0;
        foreach (var p in keyJson.EnumerateObject())
        {
            if (++count > 2) return false;
            bool isHash;
            if (!hasHash && p.NameEquals(table.HashKey.Name)) isHash = true;
            else if (table.RangeKey != null && !hasRange && p.NameEquals(table.RangeKey.Name)) isHash = false;
            else return false;
            if (!TryPlainString(p.Value, out var utf8)) return false;
            if (isHash)
            {
                hash = utf8;
                hasHash = true;
            }
            else
            {
                range = utf8;
                hasRange = true;
            }
        }

        if (!hasHash || hasRange != (table.RangeKey != null) || KeyCodec.HeaderLength + hash.Length + range.Length + 6 > scratch.Length) return false;
        written = KeyCodec.EncodeStringKey(table.TableNumber, hash, hasRange, range, scratch);
        return true;
    }

    /// <summary>
    /// <see cref="TryEncodeStringKey"/> for the key attributes of a whole item (PutItem's fast path): both found among
    /// its attributes as plain S values; otherwise false, and <see cref="KeyOfItem"/> checks them.
    /// </summary>
    public static bool TryEncodeStringKeyOfItem(JsonElement item, TableDefinition table, Span<byte> scratch, out int written)
    {
        written = 0;
        if (table.HashKey.Type != "S" || table.RangeKey is { Type: not "S" }) return false;
        if (!item.TryGetProperty(table.HashKey.Name, out var hashJson) || !TryPlainString(hashJson, out var hash)) return false;
        ReadOnlySpan<byte> range = default;
        if (table.RangeKey != null && (!item.TryGetProperty(table.RangeKey.Name, out var rangeJson) || !TryPlainString(rangeJson, out range))) return false;
        if (KeyCodec.HeaderLength + hash.Length + range.Length + 6 > scratch.Length) return false;
        written = KeyCodec.EncodeStringKey(table.TableNumber, hash, table.RangeKey != null, range, scratch);
        return true;
    }

    /// <summary>The UTF-8 of <c>{"S": "..."}</c> when the string is 1 to 1024 bytes with no escape (so no 0x00 either).</summary>
    private static bool TryPlainString(JsonElement value, out ReadOnlySpan<byte> utf8)
    {
        utf8 = default;
        if (value.ValueKind != JsonValueKind.Object) return false;
        var found = false;
        foreach (var p in value.EnumerateObject())
        {
            if (found || !p.NameEquals("S"u8) || p.Value.ValueKind != JsonValueKind.String) return false;
            var raw = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(p.Value);
            if (raw.Length >= 2 && raw[0] == (byte)'"') raw = raw[1..^1];
            if (raw.Length is 0 or > ItemSize.MaxSortKeyBytes || raw.IndexOf((byte)'\\') >= 0) return false;
            utf8 = raw;
            found = true;
        }

        return found;
    }

    private const string KeyMismatch = "The provided key element does not match the schema";
    private const string MissingKeyPrefix = "One or more parameter values were invalid: Missing the key ";
    private const string KeyTypePrefix = "One or more parameter values were invalid: Type mismatch for key ";

    /// <summary>
    /// Whether <paramref name="e"/> is one of the key-schema errors raised here (a key attribute missing, extra or of the
    /// wrong type), which a transaction reports as a cancellation reason; empty and oversized keys stay request errors.
    /// </summary>
    public static bool IsKeySchemaMismatch(DynamoException e) =>
        e.ErrorType == "ValidationException"
        && (e.Message == KeyMismatch || e.Message.StartsWith(MissingKeyPrefix, StringComparison.Ordinal) || e.Message.StartsWith(KeyTypePrefix, StringComparison.Ordinal));

    /// <summary>Extracts and checks the key attributes of a full item (PutItem).</summary>
    public static (AttrValue Hash, AttrValue? Range) KeyOfItem(IReadOnlyDictionary<string, AttrValue> item, TableDefinition table)
    {
        var hash = KeyAttributeOfItem(item, table.HashKey, isPartitionKey: true);
        var range = table.RangeKey == null ? null : KeyAttributeOfItem(item, table.RangeKey, isPartitionKey: false);
        return (hash, range);
    }

    /// <summary>Encodes the storage key into <paramref name="scratch"/> when it fits, else into a new array.</summary>
    public static ReadOnlySpan<byte> EncodeKey(uint tableNumber, AttrValue hash, AttrValue? range, Span<byte> scratch)
    {
        var length = KeyCodec.KeyLength(hash, range);
        var destination = length <= scratch.Length ? scratch : new byte[length];
        var written = KeyCodec.EncodeKey(tableNumber, hash, range, destination);
        return destination[..written];
    }

    /// <summary>Encodes the storage key into a new array (write paths, which await and so cannot hold a span).</summary>
    public static byte[] EncodeKey(uint tableNumber, AttrValue hash, AttrValue? range) => KeyCodec.EncodeKey(tableNumber, hash, range);

    private static AttrValue KeyAttributeOfItem(IReadOnlyDictionary<string, AttrValue> item, KeyAttribute key, bool isPartitionKey)
    {
        if (!item.TryGetValue(key.Name, out var value))
            throw DynamoErrors.Validation($"{MissingKeyPrefix}{key.Name} in the item");
        var actual = AttrTypeNames.Name(value.Type);
        if (actual != key.Type)
            throw DynamoErrors.Validation($"{KeyTypePrefix}{key.Name} expected: {key.Type} actual: {actual}");
        CheckKeyValue(key.Name, value, isPartitionKey);
        return value;
    }

    private static void CheckKeyValue(string name, AttrValue value, bool isPartitionKey)
    {
        if (value.Type == AttrType.S && value.S.Length == 0)
            throw DynamoErrors.Validation($"One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: {name}");
        if (value.Type == AttrType.B && value.B.Length == 0)
            throw DynamoErrors.Validation($"One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty binary value. Key: {name}");
        if (ItemSize.CheckKeySize(value, isPartitionKey) is { } message) throw DynamoErrors.Validation(message);
    }

    private static bool IsPlaceholder(string s, char sigil)
    {
        if (s.Length < 2 || s[0] != sigil) return false;
        for (var i = 1; i < s.Length; i++)
            if (!(char.IsAsciiLetterOrDigit(s[i]) || s[i] == '_')) return false;
        return true;
    }
}

/// <summary>Capacity units by AWS's rounding rules, and the ConsumedCapacity member.</summary>
internal static class Capacity
{
    /// <summary>Read units: 4 KB units rounded up (at least one), halved for eventually consistent reads.</summary>
    public static double ReadUnits(long bytes, bool consistent)
    {
        var units = Math.Max(1, (bytes + 4095) / 4096);
        return consistent ? units : units / 2.0;
    }

    /// <summary>Write units: 1 KB units rounded up, at least one.</summary>
    public static double WriteUnits(long bytes) => Math.Max(1, (bytes + 1023) / 1024);

    /// <summary>
    /// The one admission of a read (src/Engine/Capacity): refuses it, as DynamoDB throttles, when the table (or the
    /// global index) or the partition key holds less than <paramref name="estimateUnits"/>.
    /// </summary>
    public static Admission AdmitRead(OperationContext ctx, TableState table, SecondaryIndex? globalIndex, ReadOnlySpan<byte> partitionKey, double estimateUnits)
    {
        var refusal = ctx.Engine.Capacity.TryAdmitRead(table, globalIndex, partitionKey, estimateUnits, out var admission);
        if (refusal.Refused) throw CapacityGate.Throttled(refusal);
        return admission;
    }

    /// <summary>The one admission of a single-item write; <paramref name="indexMask"/> names the GSIs it may update.</summary>
    public static Admission AdmitWrite(OperationContext ctx, TableState table, ReadOnlySpan<byte> storageKey, double estimateUnits, ulong indexMask)
    {
        var refusal = ctx.Engine.Capacity.TryAdmitWrite(table, storageKey, estimateUnits, indexMask, out var admission);
        if (refusal.Refused) throw CapacityGate.Throttled(refusal);
        return admission;
    }

    /// <summary>Charges the units the request consumed (metering them), then writes ConsumedCapacity when asked for.</summary>
    public static void Write(Utf8JsonWriter w, string? mode, OperationContext ctx, in Admission admission, TableState table, double units, bool isRead)
    {
        ctx.Engine.Capacity.Settle(admission, units);
        Write(w, mode, table.Definition.Name, units, isRead);
    }

    public static void Write(Utf8JsonWriter w, string? mode, string tableName, double units, bool isRead)
    {
        if (mode is not ("TOTAL" or "INDEXES")) return;
        w.WritePropertyName("ConsumedCapacity"u8);
        WriteEntry(w, mode, tableName, units, isRead);
    }

    /// <summary>One ConsumedCapacity object (batch operations write a list of them, one per table).</summary>
    public static void WriteEntry(Utf8JsonWriter w, string mode, string tableName, double units, bool isRead)
    {
        w.WriteStartObject();
        w.WriteString("TableName"u8, tableName);
        w.WriteNumber("CapacityUnits"u8, units);
        w.WriteNumber(isRead ? "ReadCapacityUnits"u8 : "WriteCapacityUnits"u8, units);
        if (mode == "INDEXES")
        {
            w.WriteStartObject("Table"u8);
            w.WriteNumber("CapacityUnits"u8, units);
            w.WriteNumber(isRead ? "ReadCapacityUnits"u8 : "WriteCapacityUnits"u8, units);
            w.WriteEndObject();
        }

        w.WriteEndObject();
    }
}
