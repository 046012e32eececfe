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
    public static readonly RequestFacts Empty = new();

    /// <summary><c>dynamodb:LeadingKeys</c>: the partition-key values of every item the action touches, as strings.</summary>
    public List<string>? LeadingKeys { get; private set; }

    /// <summary><c>dynamodb:Attributes</c>: the top-level attribute names the action reads or writes.</summary>
    public List<string>? Attributes { get; private set; }

    public string? Select { get; private set; }

    public string? ReturnValues { get; private set; }

    public string? ReturnConsumedCapacity { get; private set; }

    /// <summary>
    /// Reads the keys from <paramref name="part"/> (the request, one transaction item, or one table's batch entry);
    /// <paramref name="request"/> is the whole request (ReturnConsumedCapacity). <paramref name="table"/> and
    /// <paramref name="index"/> give the partition key; without a table LeadingKeys is absent.
    /// </summary>
    public static RequestFacts Build(FactsMode mode, JsonElement part, JsonElement request, TableDefinition? table, IndexDefinition? index)
    {
        var facts = new RequestFacts();
        if (mode == FactsMode.None) return facts;
        facts.ReturnConsumedCapacity = Str(request, "ReturnConsumedCapacity");
        var names = new List<string>();
        var leading = new List<string>();
        var hash = index?.HashKey.Name ?? table?.HashKey.Name;
        var exprNames = part.ValueKind == JsonValueKind.Object && part.TryGetProperty("ExpressionAttributeNames", out var n) && n.ValueKind == JsonValueKind.Object ? n : default;

        if (mode == FactsMode.BatchWrite)
        {
            if (part.ValueKind == JsonValueKind.Array)
            {
                foreach (var w in part.EnumerateArray())
                {
                    if (w.ValueKind != JsonValueKind.Object) continue;
                    if (Obj(w, "PutRequest") is { } put && Obj(put, "Item") is { } item) AddItem(item, hash, names, leading);
                    if (Obj(w, "DeleteRequest") is { } del && Obj(del, "Key") is { } key) AddItem(key, hash, names, leading);
                }
            }
        }
        else if (part.ValueKind == JsonValueKind.Object)
        {
            if (Obj(part, "Item") is { } item) AddItem(item, hash, names, leading);
            if (Obj(part, "Key") is { } key) AddItem(key, hash, names, leading);
            if (part.TryGetProperty("Keys", out var keys) && keys.ValueKind == JsonValueKind.Array)
                foreach (var k in keys.EnumerateArray())
                    if (k.ValueKind == JsonValueKind.Object) AddItem(k, hash, names, leading);

            foreach (var expression in ExpressionMembers)
                if (Str(part, expression) is { } text) ExpressionNames.AddTopLevel(text, exprNames, names);
            foreach (var legacy in LegacyNameMaps)
                if (Obj(part, legacy) is { } map) foreach (var m in map.EnumerateObject()) Add(names, m.Name);
            if (part.TryGetProperty("AttributesToGet", out var toGet) && toGet.ValueKind == JsonValueKind.Array)
                foreach (var a in toGet.EnumerateArray()) if (a.ValueKind == JsonValueKind.String) Add(names, a.GetString()!);

            if (hash != null && (Str(part, "KeyConditionExpression") != null || Obj(part, "KeyConditions") != null))
                AddQueryPartition(part, hash, exprNames, leading);

            facts.ReturnValues = Str(part, "ReturnValues");
            if (mode == FactsMode.Read)
            {
                var projected = Str(part, "ProjectionExpression") != null || part.TryGetProperty("AttributesToGet", out _);
                facts.Select = Str(part, "Select") ?? (projected ? "SPECIFIC_ATTRIBUTES" : Str(part, "IndexName") != null ? "ALL_PROJECTED_ATTRIBUTES" : "ALL_ATTRIBUTES");
            }
        }

        facts.Attributes = names.Count > 0 ? names : null;
        facts.LeadingKeys = leading.Count > 0 ? leading : null;
        return facts;
    }

    private static readonly string[] ExpressionMembers =
        ["ProjectionExpression", "UpdateExpression", "ConditionExpression", "FilterExpression", "KeyConditionExpression"];

    private static readonly string[] LegacyNameMaps = ["AttributeUpdates", "Expected", "KeyConditions", "QueryFilter", "ScanFilter"];

    private static void AddItem(JsonElement map, string? hash, List<string> names, List<string> leading)
    {
        foreach (var m in map.EnumerateObject())
        {
            Add(names, m.Name);
            if (m.Name == hash && ScalarText(m.Value) is { } text) leading.Add(text);
        }
    }

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

    internal static JsonElement? Obj(JsonElement obj, string name) =>
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

    private static List<(TokenKind Kind, string Text)> Tokens(string s, JsonElement exprNames)
    {
        var tokens = new List<(TokenKind, string)>();
        var i = 0;
        var afterDot = false;
        while (i < s.Length)
        {
            var c = s[i];
            if (char.IsWhiteSpace(c)) { i++; continue; }
            if (c == '#' || c == ':' || char.IsLetter(c) || c == '_')
            {
                var start = i++;
                while (i < s.Length && (char.IsLetterOrDigit(s[i]) || s[i] == '_' || s[i] == '-' && c is '#' or ':')) i++;
                var word = s[start..i];
                var j = i;
                while (j < s.Length && char.IsWhiteSpace(s[j])) j++;
                var isFunction = j < s.Length && s[j] == '(' && c != '#' && c != ':';
                if (c == ':') tokens.Add((TokenKind.Value, word));
                else if (afterDot || isFunction || (c != '#' && Keywords.Contains(word))) tokens.Add((TokenKind.Other, word));
                else if (c == '#')
                {
                    if (exprNames.ValueKind == JsonValueKind.Object && exprNames.TryGetProperty(word, out var resolved) && resolved.ValueKind == JsonValueKind.String)
                        tokens.Add((TokenKind.Name, resolved.GetString()!));
                    else tokens.Add((TokenKind.Other, word));
                }
                else tokens.Add((TokenKind.Name, word));
                afterDot = false;
                continue;
            }

            if (c == '[')
            {
                // A list index continues the path: skip to the closing bracket.
                var close = s.IndexOf(']', i);
                i = close < 0 ? s.Length : close + 1;
                tokens.Add((TokenKind.Other, "[]"));
                continue;
            }

            afterDot = c == '.';
            if (c == '=' && (tokens.Count == 0 || tokens[^1].Item2 is not ("<" or ">" or "<>"))) tokens.Add((TokenKind.Equals, "="));
            else tokens.Add((TokenKind.Other, c.ToString()));
            if (c is '<' or '>' && i + 1 < s.Length && s[i + 1] is '=' or '>') i++;
            i++;
        }

        return tokens;
    }
}
