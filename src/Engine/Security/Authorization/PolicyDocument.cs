using System.Text.Json;

namespace Serverless.Engine.Security.Authorization;

/// <summary>Whether a document is attached to an identity (an access key) or to a resource (a table or stream).</summary>
public enum PolicyKind
{
    Identity,
    Resource,
}

/// <summary>A policy document that does not parse; <see cref="Exception.Message"/> says what is wrong.</summary>
public sealed class PolicyFormatException(string message) : Exception(message);

/// <summary>
/// An IAM policy document, parsed once: statements with their effect, action, resource and principal patterns and
/// conditions. Evaluation is in <see cref="PolicyEvaluator"/>.
/// </summary>
public sealed class PolicyDocument
{
    private PolicyDocument(string version, PolicyStatement[] statements)
    {
        Version = version;
        Statements = statements;
        ReadsRequest = AnyReadsRequest(statements);
    }

    /// <summary>2012-10-17 (policy variables are substituted) or 2008-10-17 (they are literal text).</summary>
    public string Version { get; }

    public PolicyStatement[] Statements { get; }

    public bool HasVariables => Version == "2012-10-17";

    /// <summary>
    /// True when a condition reads the request (a <c>dynamodb:</c> key such as LeadingKeys or Attributes): then a
    /// decision under this policy depends on more than the caller, the action and the resource, and is never cached.
    /// Every other condition key this evaluator knows is a property of the caller.
    /// </summary>
    public bool ReadsRequest { get; }

    private static bool AnyReadsRequest(PolicyStatement[] statements)
    {
        foreach (var s in statements)
            foreach (var c in s.Conditions)
                if (c.Key.StartsWith("dynamodb:", StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }

    /// <summary>Parses <paramref name="json"/>; throws <see cref="PolicyFormatException"/> with the reason when it is not a valid policy.</summary>
    public static PolicyDocument Parse(string json, PolicyKind kind)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException)
        {
            throw new PolicyFormatException("This policy contains invalid Json");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new PolicyFormatException("This policy contains invalid Json");
            var version = "2008-10-17";
            JsonElement? statementElement = null;
            foreach (var member in root.EnumerateObject())
            {
                switch (member.Name)
                {
                    case "Version":
                        version = member.Value.ValueKind == JsonValueKind.String ? member.Value.GetString()! : "";
                        if (version is not ("2012-10-17" or "2008-10-17")) throw new PolicyFormatException($"Invalid Version: {member.Value.GetRawText()}");
                        break;
                    case "Id":
                        break;
                    case "Statement":
                        statementElement = member.Value;
                        break;
                    default:
                        throw new PolicyFormatException($"Unknown field {member.Name}");
                }
            }

            if (statementElement is not { } statements) throw new PolicyFormatException("Missing required field Statement");
            var list = new List<PolicyStatement>();
            var sids = new HashSet<string>(StringComparer.Ordinal);
            if (statements.ValueKind == JsonValueKind.Object) list.Add(PolicyStatement.Parse(statements, kind));
            else if (statements.ValueKind == JsonValueKind.Array)
            {
                foreach (var s in statements.EnumerateArray())
                {
                    if (s.ValueKind != JsonValueKind.Object) throw new PolicyFormatException("Statement must be an object");
                    list.Add(PolicyStatement.Parse(s, kind));
                }
            }
            else throw new PolicyFormatException("Statement must be an object or an array");

            if (list.Count == 0) throw new PolicyFormatException("Could not parse the policy: Statement is empty!");
            foreach (var s in list)
                if (s.Sid is { Length: > 0 } sid && !sids.Add(sid))
                    throw new PolicyFormatException($"Statement IDs (SID) in a single policy must be unique: {sid}");
            return new PolicyDocument(version, [.. list]);
        }
    }
}

/// <summary>One statement: Effect, Action/NotAction, Resource/NotResource, Principal/NotPrincipal, Condition.</summary>
public sealed class PolicyStatement
{
    public string? Sid { get; private init; }

    public bool Allow { get; private init; }

    public Pattern[] Actions { get; private init; } = [];

    /// <summary>True when the statement used NotAction: it applies to every action that matches none of <see cref="Actions"/>.</summary>
    public bool NotAction { get; private init; }

    public Pattern[] Resources { get; private init; } = [];

    public bool NotResource { get; private init; }

    /// <summary>Principal entries (<c>*</c>, principal ARNs, account ARNs); null in identity policies.</summary>
    public string[]? Principals { get; private init; }

    public bool NotPrincipal { get; private init; }

    public PolicyCondition[] Conditions { get; private init; } = [];

    internal static PolicyStatement Parse(JsonElement s, PolicyKind kind)
    {
        string? sid = null;
        string? effect = null;
        JsonElement? action = null, notAction = null, resource = null, notResource = null, principal = null, notPrincipal = null, condition = null;
        foreach (var m in s.EnumerateObject())
        {
            switch (m.Name)
            {
                case "Sid":
                    if (m.Value.ValueKind != JsonValueKind.String) throw new PolicyFormatException("Sid must be a string");
                    sid = m.Value.GetString();
                    break;
                case "Effect":
                    effect = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString() : null;
                    break;
                case "Action": action = m.Value; break;
                case "NotAction": notAction = m.Value; break;
                case "Resource": resource = m.Value; break;
                case "NotResource": notResource = m.Value; break;
                case "Principal": principal = m.Value; break;
                case "NotPrincipal": notPrincipal = m.Value; break;
                case "Condition": condition = m.Value; break;
                default: throw new PolicyFormatException($"Unknown field {m.Name}");
            }
        }

        if (effect == null) throw new PolicyFormatException("Missing required field Effect");
        var allow = string.Equals(effect, "Allow", StringComparison.OrdinalIgnoreCase);
        if (!allow && !string.Equals(effect, "Deny", StringComparison.OrdinalIgnoreCase)) throw new PolicyFormatException($"Invalid effect: {effect}");
        if (action is not null && notAction is not null) throw new PolicyFormatException("Statement cannot have both Action and NotAction");
        if (action is null && notAction is null) throw new PolicyFormatException("Missing required field Action");
        if (resource is not null && notResource is not null) throw new PolicyFormatException("Statement cannot have both Resource and NotResource");
        if (resource is null && notResource is null) throw new PolicyFormatException("Missing required field Resource");
        string[]? principals = null;
        if (kind == PolicyKind.Identity)
        {
            if (principal is not null || notPrincipal is not null) throw new PolicyFormatException("Policy document should not specify a principal.");
        }
        else
        {
            if (principal is not null && notPrincipal is not null) throw new PolicyFormatException("Statement cannot have both Principal and NotPrincipal");
            if (principal is null && notPrincipal is null) throw new PolicyFormatException("Missing required field Principal");
            principals = ReadPrincipals((principal ?? notPrincipal)!.Value);
        }

        var actions = Strings(action ?? notAction!.Value, "Action");
        foreach (var a in actions)
            if (a != "*" && a.IndexOf(':') <= 0) throw new PolicyFormatException($"Action must be in the form service:action: {a}");
        return new PolicyStatement
        {
            Sid = sid,
            Allow = allow,
            Actions = [.. actions.Select(a => new Pattern(a, ignoreCase: true))],
            NotAction = notAction is not null,
            Resources = [.. Strings(resource ?? notResource!.Value, "Resource").Select(r => new Pattern(r, ignoreCase: false))],
            NotResource = notResource is not null,
            Principals = principals,
            NotPrincipal = notPrincipal is not null,
            Conditions = condition is { } c ? PolicyCondition.ParseBlock(c) : [],
        };
    }

    private static string[] ReadPrincipals(JsonElement p)
    {
        if (p.ValueKind == JsonValueKind.String)
        {
            if (p.GetString() == "*") return ["*"];
            throw new PolicyFormatException("Syntax error in Principal: a principal must be \"*\" or an object such as {\"AWS\": \"arn:aws:iam::123456789012:root\"}");
        }

        if (p.ValueKind != JsonValueKind.Object) throw new PolicyFormatException("Principal must be \"*\" or an object");
        var result = new List<string>();
        foreach (var m in p.EnumerateObject())
        {
            if (m.Name != "AWS") throw new PolicyFormatException($"Unsupported principal type {m.Name}: only AWS principals are served");
            foreach (var value in Strings(m.Value, "Principal"))
            {
                // An account id stands for the account's root ARN, as IAM stores it.
                result.Add(value.Length == 12 && value.All(char.IsAsciiDigit) ? $"arn:aws:iam::{value}:root" : value);
            }
        }

        if (result.Count == 0) throw new PolicyFormatException("Principal must not be empty");
        return [.. result];
    }

    internal static List<string> Strings(JsonElement e, string field)
    {
        var result = new List<string>();
        if (e.ValueKind == JsonValueKind.String) result.Add(e.GetString()!);
        else if (e.ValueKind == JsonValueKind.Array)
        {
            foreach (var v in e.EnumerateArray())
            {
                if (v.ValueKind != JsonValueKind.String) throw new PolicyFormatException($"{field} values must be strings");
                result.Add(v.GetString()!);
            }
        }
        else throw new PolicyFormatException($"{field} must be a string or an array of strings");

        if (result.Count == 0) throw new PolicyFormatException($"{field} must not be empty");
        return result;
    }
}

/// <summary>One condition test: an operator (with optional IfExists and set qualifier), a key and its values.</summary>
public sealed class PolicyCondition
{
    public required ConditionOperator Operator { get; init; }

    public required bool IfExists { get; init; }

    /// <summary>None, ForAllValues or ForAnyValue.</summary>
    public required SetQualifier Qualifier { get; init; }

    public required string Key { get; init; }

    public required string[] Values { get; init; }

    internal static PolicyCondition[] ParseBlock(JsonElement block)
    {
        if (block.ValueKind != JsonValueKind.Object) throw new PolicyFormatException("Condition must be an object");
        var result = new List<PolicyCondition>();
        foreach (var op in block.EnumerateObject())
        {
            var name = op.Name;
            var qualifier = SetQualifier.None;
            if (name.StartsWith("ForAllValues:", StringComparison.Ordinal)) { qualifier = SetQualifier.ForAllValues; name = name["ForAllValues:".Length..]; }
            else if (name.StartsWith("ForAnyValue:", StringComparison.Ordinal)) { qualifier = SetQualifier.ForAnyValue; name = name["ForAnyValue:".Length..]; }
            var ifExists = name.EndsWith("IfExists", StringComparison.Ordinal) && name != "IfExists";
            if (ifExists) name = name[..^"IfExists".Length];
            if (name.Length == 0 || !char.IsAsciiLetter(name[0]) || !Enum.TryParse<ConditionOperator>(name, ignoreCase: false, out var parsed))
                throw new PolicyFormatException($"Invalid Condition type: {op.Name}");
            if (op.Value.ValueKind != JsonValueKind.Object) throw new PolicyFormatException($"Condition {op.Name} must be an object");
            foreach (var key in op.Value.EnumerateObject())
            {
                var values = key.Value.ValueKind switch
                {
                    JsonValueKind.True => ["true"],
                    JsonValueKind.False => ["false"],
                    JsonValueKind.Number => [key.Value.GetRawText()],
                    JsonValueKind.Array => key.Value.EnumerateArray().Select(v => v.ValueKind switch
                    {
                        JsonValueKind.String => v.GetString()!,
                        JsonValueKind.True => "true",
                        JsonValueKind.False => "false",
                        JsonValueKind.Number => v.GetRawText(),
                        _ => throw new PolicyFormatException($"Condition values of {key.Name} must be strings"),
                    }).ToList(),
                    _ => PolicyStatement.Strings(key.Value, "Condition"),
                };
                result.Add(new PolicyCondition { Operator = parsed, IfExists = ifExists, Qualifier = qualifier, Key = key.Name, Values = [.. values] });
            }
        }

        return [.. result];
    }
}

public enum SetQualifier
{
    None,
    ForAllValues,
    ForAnyValue,
}

public enum ConditionOperator
{
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    ArnEquals,
    ArnNotEquals,
    ArnLike,
    ArnNotLike,
    Bool,
    Null,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
}
