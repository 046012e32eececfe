using Serverless.Engine.Operations;
using System.Text.Json;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Security.Authorization;

/// <summary>What kind of request part the condition keys are read from.</summary>
public enum FactsMode
{
    /// <summary>No DynamoDB condition keys (table management, streams, backups).</summary>
    None,

    /// <summary>GetItem, BatchGetItem per table, TransactGetItems per item, Query, Scan: dynamodb:Select applies.</summary>
    Read,

    /// <summary>PutItem, UpdateItem, DeleteItem, and the write actions of TransactWriteItems.</summary>
    Write,

    /// <summary>One table's entry of BatchWriteItem: an array of PutRequest/DeleteRequest.</summary>
    BatchWrite,
}

/// <summary>
/// The DynamoDB condition keys of one checked action, read from the request without throwing (a malformed part is
/// skipped: the operation reports it afterwards). A null list or value means the key is absent from the request.
/// </summary>
public sealed class RequestFacts
{
    public static readonly RequestFacts Empty = new(FactsMode.None, default, default, null);

    private readonly FactsMode _mode;
    private readonly JsonElement _part;
    private readonly JsonElement _request;
    private readonly string? _hash;
    private bool _haveLeading, _haveAttributes, _haveSelect;
    private List<string>? _leading, _attributes;
    private string? _select;

    private RequestFacts(FactsMode mode, JsonElement part, JsonElement request, string? hash)
    {
        _mode = mode;
        _part = part;
        _request = request;
        _hash = hash;
    }

    /// <summary>
    /// The condition keys of <paramref name="part"/> (the request, one transaction item, or one table's batch entry);
    /// <paramref name="request"/> is the whole request (ReturnConsumedCapacity). <paramref name="table"/> and
    /// <paramref name="index"/> give the partition key; without a table LeadingKeys is absent. Each key is read from
    /// the request on first use; both elements must outlive these facts.
    /// </summary>
    public static RequestFacts Build(FactsMode mode, JsonElement part, JsonElement request, TableDefinition? table, IndexDefinition? index) =>
        mode == FactsMode.None ? Empty : new RequestFacts(mode, part, request, index?.HashKey.Name ?? table?.HashKey.Name);

    /// <summary><c>dynamodb:LeadingKeys</c>: the partition-key values of every item the action touches, as strings.</summary>
    public List<string>? LeadingKeys
    {
        get
        {
            if (!_haveLeading) { _leading = ReadLeadingKeys(); _haveLeading = true; }
            return _leading;
        }
    }

    /// <summary><c>dynamodb:Attributes</c>: the top-level attribute names the action reads or writes.</summary>
    public List<string>? Attributes
    {
        get
        {
            if (!_haveAttributes) { _attributes = ReadAttributes(); _haveAttributes = true; }
            return _attributes;
        }
    }

    /// <summary>Reads only: <c>Select</c> as sent, else DynamoDB's default for the request.</summary>
    public string? Select
    {
        get
        {
            if (!_haveSelect) { _select = ReadSelect(); _haveSelect = true; }
            return _select;
        }
    }

    public string? ReturnValues => _mode is FactsMode.None or FactsMode.BatchWrite ? null : Str(_part, "ReturnValues"u8);

    public string? ReturnConsumedCapacity => _mode == FactsMode.None ? null : Str(_request, "ReturnConsumedCapacity"u8);

    private List<string>? ReadLeadingKeys()
    {
        if (_hash == null) return null;
        var leading = new List<string>(1);
        foreach (var map in ItemMaps())
            if (map.TryGetProperty(_hash, out var v) && ScalarText(v) is { } text) leading.Add(text);
        if (_mode != FactsMode.BatchWrite && (Str(_part, "KeyConditionExpression"u8) != null || Obj(_part, "KeyConditions"u8) != null))
            AddQueryPartition(_part, _hash, ExpressionAttributeNames(), leading);
        return leading.Count > 0 ? leading : null;
    }

    private List<string>? ReadAttributes()
    {
        var names = new List<string>();
        foreach (var map in ItemMaps()) AddNames(map, names);
        if (_mode != FactsMode.BatchWrite && _part.ValueKind == JsonValueKind.Object)
        {
            var exprNames = ExpressionAttributeNames();
            foreach (var expression in ExpressionMembers)
                if (Str(_part, expression) is { } text) ExpressionNames.AddTopLevel(text, exprNames, names);
            foreach (var legacy in LegacyNameMaps) AddNames(Obj(_part, legacy), names);
            if (_part.TryGetProperty("AttributesToGet"u8, out var toGet) && toGet.ValueKind == JsonValueKind.Array)
                foreach (var a in toGet.EnumerateArray()) if (a.ValueKind == JsonValueKind.String) Add(names, a.GetString()!);
        }

        return names.Count > 0 ? names : null;
    }

    /// <summary>Every item or key map the action touches: Item, Key, each of Keys, or each put item and delete key of a batch entry.</summary>
    private IEnumerable<JsonElement> ItemMaps()
    {
        if (_mode == FactsMode.BatchWrite)
        {
            if (_part.ValueKind != JsonValueKind.Array) yield break;
            foreach (var w in _part.EnumerateArray())
            {
                if (Obj(w, "PutRequest"u8) is { } put && Obj(put, "Item"u8) is { } item) yield return item;
                if (Obj(w, "DeleteRequest"u8) is { } del && Obj(del, "Key"u8) is { } key) yield return key;
            }

            yield break;
        }

        if (Obj(_part, "Item"u8) is { } single) yield return single;
        if (Obj(_part, "Key"u8) is { } k) yield return k;
        if (_part.ValueKind == JsonValueKind.Object && _part.TryGetProperty("Keys"u8, out var keys) && keys.ValueKind == JsonValueKind.Array)
            foreach (var each in keys.EnumerateArray())
                if (each.ValueKind == JsonValueKind.Object) yield return each;
    }

    private string? ReadSelect()
    {
        if (_mode != FactsMode.Read || _part.ValueKind != JsonValueKind.Object) return null;
        if (Str(_part, "Select"u8) is { } select) return select;
        if (Str(_part, "ProjectionExpression"u8) != null || _part.TryGetProperty("AttributesToGet"u8, out _)) return "SPECIFIC_ATTRIBUTES";
        return Str(_part, "IndexName"u8) != null ? "ALL_PROJECTED_ATTRIBUTES" : "ALL_ATTRIBUTES";
    }

    private JsonElement ExpressionAttributeNames() =>
        _part.ValueKind == JsonValueKind.Object && _part.TryGetProperty("ExpressionAttributeNames"u8, out var n) && n.ValueKind == JsonValueKind.Object ? n : default;

    private static readonly string[] ExpressionMembers =
        ["ProjectionExpression", "UpdateExpression", "ConditionExpression", "FilterExpression", "KeyConditionExpression"];

    private static readonly string[] LegacyNameMaps = ["AttributeUpdates", "Expected", "KeyConditions", "QueryFilter", "ScanFilter"];

    private static void AddNames(JsonElement? map, List<string> names)
    {
        if (map is not { ValueKind: JsonValueKind.Object } m) return;
        foreach (var member in m.EnumerateObject()) Add(names, member.Name);
    }

    private static void AddNames(JsonElement map, List<string> names) => AddNames((JsonElement?)map, names);

    private static void Add(List<string> names, string name)
    {
        if (!names.Contains(name)) names.Add(name);
    }

    /// <summary>The partition-key value a Query names: <c>pk = :v</c> in KeyConditionExpression, or EQ in KeyConditions.</summary>
    private static void AddQueryPartition(JsonElement part, string hash, JsonElement exprNames, List<string> leading)
    {
        if (Str(part, "KeyConditionExpression") is { } text)
        {
            if (ExpressionNames.EqualityValue(text, hash, exprNames) is { } placeholder
                && Obj(part, "ExpressionAttributeValues") is { } values && values.TryGetProperty(placeholder, out var v) && ScalarText(v) is { } s)
                leading.Add(s);
        }
        else if (Obj(part, "KeyConditions") is { } conditions && Obj(conditions, hash) is { } condition
                 && Str(condition, "ComparisonOperator") == "EQ"
                 && condition.TryGetProperty("AttributeValueList", out var list) && list.ValueKind == JsonValueKind.Array && list.GetArrayLength() == 1
                 && ScalarText(list[0]) is { } value)
            leading.Add(value);
    }

    /// <summary>A key value as IAM sees it: the string, the number's text, or the binary's base64.</summary>
    private static string? ScalarText(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object) return null;
        foreach (var m in value.EnumerateObject())
            if (m.Name is "S" or "N" or "B" && m.Value.ValueKind == JsonValueKind.String) return m.Value.GetString();
        return null;
    }

    internal static string? Str(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    /// <summary>TableName as <see cref="Str(JsonElement, ReadOnlySpan{byte})"/> reads it, without a new string for the name read last on this thread.</summary>
    internal static string? TableName(JsonElement obj) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty("TableName"u8, out var v) && v.ValueKind == JsonValueKind.String ? Req.TableName(obj) : null;

    internal static JsonElement? Obj(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Object ? v : null;

    internal static string? Str(JsonElement obj, ReadOnlySpan<byte> name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    internal static JsonElement? Obj(JsonElement obj, ReadOnlySpan<byte> name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Object ? v : null;
}

/// <summary>
/// A tolerant scan of DynamoDB expressions for what authorization needs: the top-level attribute names (the first
/// element of each document path, with <c>#name</c> placeholders resolved) and a partition-key equality. It never
/// throws: the operation's own parser reports malformed expressions.
/// </summary>
internal static class ExpressionNames
{
    private static readonly HashSet<string> Keywords = new(StringComparer.OrdinalIgnoreCase)
    {
        "SET", "REMOVE", "ADD", "DELETE", "AND", "OR", "NOT", "BETWEEN", "IN",
    };

    private enum TokenKind
    {
        Name,
        Value,
        Equals,
        Other,
    }

    public static void AddTopLevel(string expression, JsonElement exprNames, List<string> into)
    {
        foreach (var (kind, text) in Tokens(expression, exprNames))
            if (kind == TokenKind.Name && !into.Contains(text)) into.Add(text);
    }

    /// <summary>The <c>:placeholder</c> compared with <c>=</c> to the top-level attribute <paramref name="name"/>, if any.</summary>
    public static string? EqualityValue(string expression, string name, JsonElement exprNames)
    {
        var tokens = Tokens(expression, exprNames);
        for (var i = 0; i + 2 < tokens.Count; i++)
        {
            if (tokens[i + 1].Kind != TokenKind.Equals) continue;
            if (tokens[i].Kind == TokenKind.Name && tokens[i].Text == name && tokens[i + 2].Kind == TokenKind.Value) return tokens[i + 2].Text;
            if (tokens[i].Kind == TokenKind.Value && tokens[i + 2].Kind == TokenKind.Name && tokens[i + 2].Text == name) return tokens[i].Text;
        }

        return null;
    }

    /// <summary>The engine's own expression tokens (<see cref="Expressions.Lexer"/>), classified for authorization.</summary>
    private static List<(TokenKind Kind, string Text)> Tokens(string s, JsonElement exprNames)
    {
        var lexed = Expressions.Lexer.Tokenize(s);
        var tokens = new List<(TokenKind, string)>(lexed.Count);
        for (var i = 0; i < lexed.Count; i++)
        {
            var t = lexed[i];
            var text = s[t.Start..t.End];
            var afterDot = i > 0 && lexed[i - 1].Kind == Expressions.Tok.Dot;
            switch (t.Kind)
            {
                case Expressions.Tok.Eof:
                    break;
                case Expressions.Tok.Value:
                    tokens.Add((TokenKind.Value, text));
                    break;
                case Expressions.Tok.Name when !afterDot:
                    // A #placeholder names the attribute its ExpressionAttributeNames entry gives.
                    if (exprNames.ValueKind == JsonValueKind.Object && exprNames.TryGetProperty(text, out var resolved) && resolved.ValueKind == JsonValueKind.String)
                        tokens.Add((TokenKind.Name, resolved.GetString()!));
                    else tokens.Add((TokenKind.Other, text));
                    break;
                case Expressions.Tok.Word when !afterDot && !char.IsAsciiDigit(text[0]) && !Keywords.Contains(text)
                                              && lexed[i + 1].Kind != Expressions.Tok.LParen:
                    tokens.Add((TokenKind.Name, text));
                    break;
                case Expressions.Tok.LBracket:
                    // A list index continues the path: skip to the closing bracket.
                    while (i + 1 < lexed.Count && lexed[i].Kind != Expressions.Tok.RBracket && lexed[i + 1].Kind != Expressions.Tok.Eof) i++;
                    tokens.Add((TokenKind.Other, "[]"));
                    break;
                case Expressions.Tok.Eq:
                    tokens.Add((TokenKind.Equals, "="));
                    break;
                default:
                    tokens.Add((TokenKind.Other, text));
                    break;
            }
        }

        return tokens;
    }
}
